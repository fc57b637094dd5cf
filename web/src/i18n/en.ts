// English.
export default {
  app: { name: 'LeadFlow', signOut: 'Sign out', language: 'Language' },
  nav: { leads: 'My leads', pools: 'Pools', team: 'Team board', routing: 'Routing', review: 'Invalid review', history: 'Config history', admin: 'Admin' },
  common: {
    loading: 'Loading…', empty: 'Nothing here yet', retry: 'Retry', save: 'Save', cancel: 'Cancel', confirm: 'Confirm',
    search: 'Search', more: 'Load more', back: 'Back', none: 'None', saved: 'Saved', error: 'Something went wrong', all: 'All',
    networkError: 'Cannot reach the server; check the connection and retry', forbidden: 'You may not do this',
  },
  signIn: {
    title: 'Sign in', dev: 'Local sign-in: pick a demo user', devHint: 'Local tokens are minted by the dev server, for this machine only.',
    oidc: 'Sign in with your company account', failed: 'Sign-in failed',
  },
  roles: { rep: 'Rep', manager: 'Manager', admin: 'Admin', marketing: 'Marketing', finance: 'Finance' },
  stage: {
    received: 'Received', aql: 'AQL', mql: 'MQL', sql: 'SQL', converted: 'Converted', invalid: 'Invalid', nurture: 'Nurture', recycled: 'Recycled',
  },
  label: { pure_new: 'New', new_customer: 'New customer', existing_customer: 'Existing customer', repeat: 'Repeat' },
  sla: { overdue: 'Overdue {span}', soon: '{span} left', ok: '{span} left', none: '' },
  views: {
    mine: 'Mine', overdue: 'Overdue', dueToday: 'Due today', newToday: 'New today', waiting: 'In my pools',
    all: 'All leads', unowned: 'Unowned', personal: 'My views', saveView: 'Save as view', viewName: 'View name', deleteView: 'Delete view',
  },
  leads: {
    searchHint: 'Phone, e-mail or company', name: 'Name', company: 'Company', phone: 'Phone', stage: 'Stage', cell: 'Score',
    label: 'Label', owner: 'Owner', sla: 'SLA', created: 'Created', channel: 'Channel', repeats: 'Repeat ×{n}',
    list: 'List', kanban: 'Kanban', overdueShare: 'overdue {overdue}/{count}', filters: 'Filters', sort: 'Sort',
    sortNewest: 'Newest', sortDue: 'Due first', sortScore: 'Best score', selected: '{n} selected', noMore: 'No more',
    bulkClaim: 'Claim', bulkTransfer: 'Transfer', bulkInvalid: 'Mark invalid', bulkDone: '{ok} done, {failed} failed',
    masked: 'Contact hidden', pool: 'Pool',
  },
  lead: {
    actions: 'Actions', logCall: 'Log call', followUp: 'Follow up', qualifyMql: 'Qualify MQL', qualifySql: 'Qualify SQL', nurture: 'Nurture',
    convert: 'Convert', invalid: 'Mark invalid', transfer: 'Transfer', claim: 'Claim', restore: 'Restore', confirmInvalid: 'Confirm invalid', returnToPool: 'Return to pool',
    kind: 'Kind', kinds: { call: 'Call', visit: 'Visit', message: 'Message' }, note: 'Note', bant: 'BANT',
    budget: 'Budget', authority: 'Authority', need: 'Need', timeline: 'Timeline',
    reason: 'Reason', amount: 'Amount', expectedClose: 'Expected close', to: 'Transfer to',
    score: 'Score', fit: 'Fit', engagement: 'Engagement', predicted: 'Predicted chance', reasons: 'Reasons',
    clocks: 'SLA clocks', timelineTitle: 'Timeline', contact: 'Contact', profile: 'Profile', done: 'Done',
    clock: { first_contact: 'First contact', mql_decision: 'MQL decision', sql_decision: 'SQL decision', sql_outcome: 'SQL outcome', untouched: 'Untouched', claim: 'Pool claim', nurture_recheck: 'Nurture re-check' },
    clockStatus: { running: 'Running', satisfied: 'Met', breached: 'Breached' },
    nurtureReasons: { not_now: 'Not now', no_budget: 'No budget', no_authority: 'No authority', no_need: 'No need', unresponsive: 'Unresponsive', other: 'Other' },
    invalidReasons: { wrong_contact: 'Wrong contact', no_intent: 'No intent', unreachable: 'Unreachable', competitor: 'Competitor', other: 'Other' },
    entry: {
      touch: 'Touch', follow_up: 'Follow-up', owner: 'Owner change', repeat: 'Repeat', sla: 'SLA',
      reminded: 'reminder', breached: 'breach', met: 'met',
    },
  },
  pools: {
    title: 'Pools', allowance: '{left} of {cap} claims left today', noCap: 'No daily claim limit', claim: 'Claim',
    claimed: 'Claimed: it is yours to follow up', lostRace: 'Too late: someone else just claimed this lead', waiting: 'Waiting since', noPools: 'You are in no pool',
  },
  team: {
    title: 'Team board', rep: 'Rep', holding: 'Holding / cap', today: 'Today / daily cap', status: 'Status', overdue: 'Overdue',
    onShift: 'On shift', offShift: 'Off shift', ooo: 'Out of office', inactive: 'Inactive', markOoo: 'Mark out of office', endOoo: 'End absence',
    oooUntil: 'Away until', tier: 'Tier', tiers: { top: 'Top', regular: 'Regular', new: 'New' }, weight: 'Weight', edit: 'Edit',
  },
  routing: {
    title: 'Routing', rules: 'Rules (first match wins)', pool: 'Pool', match: 'Matches', defaultPool: 'Default pool', moveUp: 'Up', moveDown: 'Down',
    preview: 'Preview', previewLead: 'Lead id', previewProvince: 'Province', run: 'Preview', chosen: 'Goes to', skipped: 'Skipped because',
    noRep: 'Nobody can take it', saveRules: 'Save rules', dragHint: 'Drag or use the arrows to reorder', version: 'version {v}',
  },
  review: { title: 'Invalid review', reason: 'Reason', restore: 'Restore', confirm: 'Confirm invalid', restored: 'Restored', confirmed: 'Confirmed' },
  history: {
    title: 'Config history', kind: 'Configuration', version: 'Version', savedAt: 'Saved at', savedBy: 'Saved by', changed: 'Changed',
    rollback: 'Roll back to this', rolledBack: 'Rolled back: new version {v}', restoredFrom: 'restored v{v}', diff: 'Diff', current: 'Current',
    kinds: { routing: 'Routing', sla: 'SLA policies', rules: 'Scoring rules', attribution: 'Attribution', models: 'Models' },
  },
  admin: { title: 'Admin', webhooks: 'Outbound webhooks', erasure: 'Erasure requests', users: 'Users and roles', usersHint: 'Users and roles live in the identity provider (the Cognito user pool).' },
}
