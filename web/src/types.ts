// The API's shapes the console reads (openapi.yaml is the reference).
export type Stage =
  | 'received' | 'aql' | 'mql' | 'sql' | 'converted' | 'invalid' | 'nurture' | 'recycled'

export interface LeadRow {
  id: string
  stage: Stage
  name: string | null
  phone: string | null
  email: string | null
  wechat: string | null
  masked: boolean
  company: string | null
  cell: string | null
  label: 'pure_new' | 'new_customer' | 'existing_customer' | 'repeat' | null
  repeat_count: number
  owner: string | null
  department: string | null
  pool: string | null
  waiting_since: string | null
  sla_due_at: string | null
  overdue: boolean
  channel: string
  campaign_id: string | null
  utm_source: string | null
  invalid_reason: string | null
  created_at: string
  updated_at: string
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
}

export interface Clock {
  clock: string
  status?: 'running' | 'satisfied' | 'breached'
  started_at: string
  due_at?: string
  remind_at?: string
}

/** A fit rule's line has its author's `reason`; an event kind's line its `event` and, for
 * more than one event, `count`, beside English words in `reason` (lines stored before
 * 2026-12-07: English `reason` only). */
export interface ScoreLine {
  points: number
  reason?: string
  event?: string
  count?: number
}

export interface Score {
  fit: number
  engagement: number
  grade: string
  level: number
  cell: string
  fit_lines: ScoreLine[]
  engagement_lines: ScoreLine[]
  at: string
}

export interface Lead {
  id: string
  stage: Stage
  contact: { name?: string; phone?: string; email?: string; wechat?: string; phone_ext?: string }
  company?: { raw: string; core: string } | null
  profile: Record<string, string>
  source: { channel: string; campaign_id?: string; utm?: Record<string, string> }
  owner?: string | null
  pool?: string | null
  sla?: Clock[]
  score?: Score
  /** Engagement events as scored (newest last). */
  events?: { id?: string; kind: string; at: string; points: number }[]
  invalid_reason?: { code: string; detail?: string } | null
  nurture?: { since: string; reason: string; by?: string } | null
  prediction?: { probability: number; reasons: { feature?: string; text?: string; points?: number }[] } | null
  bant?: Record<string, string>
  created_at: string
  updated_at: string
  masked?: boolean
  version: number
}

export interface TimelineSource {
  touchpoints: { id: string; kind: string; occurred_at: string; source?: { channel?: string } }[]
  follow_ups: { id?: string; kind: string; at: string; by?: string; note?: string }[]
  owner_changes: { id: string; at: string; how: string; to?: string | null; from?: string | null; by?: string | null; reason?: string | null }[]
  repeats: { lead_id: string; created_at: string; channel: string }[]
}

export interface LeadView extends TimelineSource {
  lead: Lead
  score: Score
  explanation: string[]
  handoff: unknown
}

export interface RepView {
  id: string
  name: string
  tier: 'top' | 'regular' | 'new'
  active: boolean
  team?: string
  department?: string
  weight?: number
  holding_cap?: number | null
  daily_cap?: number | null
  working_hours?: { time_zone: string; days: string[]; start: string; end: string } | null
  out_of_office?: { from: string; until: string }[]
  holding: {
    active_leads: number
    holding_cap: number | null
    received_today: number
    daily_cap: number | null
    over_cap: boolean
  }
}

export interface Pool {
  id: string
  name: string
  strategy: { kind: string; rep?: string }
  members: string[]
  daily_cap?: number | null
  daily_claim_cap?: number | null
}

export interface PoolLeads {
  pool: string
  claims: { daily_cap: number | null; claimed_today: number | null; left: number | null }
  leads: {
    lead_id: string
    stage: Stage
    cell: string | null
    company: string | null
    province?: string | null
    industry?: string | null
    channel: string
    phone: string | null
    email: string | null
    created_at: string
    waiting_since: string | null
  }[]
  next_cursor: string | null
}

export interface RoutingRule {
  pool: string
  [key: string]: unknown
}

export interface RoutingConfig {
  version: number
  rules: RoutingRule[]
  default_pool: string
  time_zone?: string
  over_cap?: string
  updated_at?: string
}

export interface VersionSummary {
  version: number
  saved_at: string | null
  saved_by: string | null
  restored_from: number | null
  changed: string[] | null
}

// ---- predictive model (GET /v1/models, GET /v1/reports/models)

/** Which trained versions score new leads; version 0 is the rule prior alone. */
export interface InService {
  champion: number
  challenger?: number
  challenger_share: number
  revision: number
}

export interface Decile {
  predicted_mean: number
  observed_rate: number
  count: number
}

export interface ModelMetrics {
  trained_at: string
  training_size: number
  positives: number
  holdout_size: number
  auc: number | null
  log_loss: number | null
  prior_auc: number | null
  prior_log_loss: number | null
  calibration: Decile[]
}

export interface ModelVersion {
  version: number
  metrics: ModelMetrics
  base_rate: number | null
  prior_weight: number
}

export interface ModelList {
  in_service: InService
  versions: ModelVersion[]
  next_cursor: string | null
}

export interface ArmReport {
  leads: number
  outcomes: number
  conversions: number
  conversion_rate: number | null
  auc: number | null
  by_decile: Decile[]
  top_decile_lift: number | null
}

export interface ModelsReport {
  months: string[]
  in_service: InService
  arms: { champion: ArmReport; challenger: ArmReport }
}
