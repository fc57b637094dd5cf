// Asking before an action that changes what others see (a rollback, a promotion, a
// cancellation): one dialog for every screen, with the action's own words on its button.
import { ElMessageBox } from 'element-plus'
import { post } from './api'

/** Whether the user confirmed; closing the dialog or the second button means no. */
export async function confirmed(question: string, title: string, action: string, back: string): Promise<boolean> {
  try {
    await ElMessageBox.confirm(question, title, { type: 'warning', confirmButtonText: action, cancelButtonText: back })
    return true
  } catch {
    return false
  }
}

/** Restores a version of a configuration kind (`rules`, `routing`, …) as a new version. */
export async function rollBack(kind: string, version: number): Promise<number> {
  return (await post<{ version: number }>(`/v1/config/${kind}/rollback`, { to: version })).version
}
