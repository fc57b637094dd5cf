// ECharts, loaded only when a chart is drawn and only with the parts used (bar and line
// charts, mark areas and lines, grid, tooltip, legend, canvas renderer); and the charts of
// a screen, resized with the window and disposed with the screen.
import { onBeforeUnmount, onMounted } from 'vue'

export async function echarts() {
  const [core, charts, components, renderers] = await Promise.all([
    import('echarts/core'),
    import('echarts/charts'),
    import('echarts/components'),
    import('echarts/renderers'),
  ])
  core.use([
    charts.BarChart,
    charts.LineChart,
    components.GridComponent,
    components.TooltipComponent,
    components.LegendComponent,
    components.MarkAreaComponent,
    components.MarkLineComponent,
    renderers.CanvasRenderer,
  ])
  return core
}

export interface Chart {
  setOption(option: unknown, replace?: boolean): void
  on(event: string, handler: (params: { dataIndex: number }) => void): void
  off(event: string): void
  resize(): void
  dispose(): void
}

/** A screen's charts: `chart(el)` gives the chart drawn in `el` (made on first use). */
export function useCharts() {
  const made = new Map<HTMLElement, Chart>()
  const resize = () => made.forEach((c) => c.resize())
  onMounted(() => window.addEventListener('resize', resize))
  onBeforeUnmount(() => {
    window.removeEventListener('resize', resize)
    made.forEach((c) => c.dispose())
  })
  return async function chart(el: HTMLElement): Promise<Chart> {
    let existing = made.get(el)
    if (!existing) {
      existing = (await echarts()).init(el) as unknown as Chart
      made.set(el, existing)
    }
    return existing
  }
}
