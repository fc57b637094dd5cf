// Simplified Chinese: the console's default language.
export default {
  app: { name: 'LeadFlow 线索中心', signOut: '退出', language: '语言' },
  nav: { leads: '我的线索', pools: '线索池', team: '团队看板', routing: '分配规则', review: '无效审核', history: '配置历史', admin: '管理' },
  common: {
    loading: '加载中…', empty: '暂无数据', retry: '重试', save: '保存', cancel: '取消', confirm: '确认',
    search: '搜索', more: '加载更多', back: '返回', none: '无', saved: '已保存', error: '出错了', all: '全部',
    networkError: '无法连接服务器，请检查网络后重试', forbidden: '你没有权限执行此操作',
  },
  signIn: {
    title: '登录', dev: '本地开发登录：选择一位演示用户', devHint: '本地令牌由开发服务器签发，仅用于本机。',
    oidc: '使用公司账号登录', failed: '登录失败',
  },
  roles: { rep: '销售', manager: '销售经理', admin: '管理员', marketing: '市场', finance: '财务' },
  stage: {
    received: '已接收', aql: 'AQL', mql: 'MQL', sql: 'SQL', converted: '已转化', invalid: '无效', nurture: '培育中', recycled: '已回收',
  },
  label: { pure_new: '全新', new_customer: '新客户', existing_customer: '老客户', repeat: '重复' },
  sla: { overdue: '超时 {span}', soon: '剩 {span}', ok: '剩 {span}', none: '' },
  views: {
    mine: '我的', overdue: '已超时', dueToday: '今日到期', newToday: '今日新增', waiting: '池中待领',
    all: '全部线索', unowned: '未分配', personal: '我的视图', saveView: '保存为视图', viewName: '视图名称', deleteView: '删除视图',
  },
  leads: {
    searchHint: '手机号、邮箱或公司', name: '姓名', company: '公司', phone: '电话', stage: '阶段', cell: '评分',
    label: '标签', owner: '负责人', sla: 'SLA', created: '创建时间', channel: '渠道', repeats: '重复 ×{n}',
    list: '列表', kanban: '看板', overdueShare: '超时 {overdue}/{count}', filters: '筛选', sort: '排序',
    sortNewest: '最新', sortDue: '最先到期', sortScore: '评分最高', selected: '已选 {n} 条', noMore: '没有更多了',
    bulkClaim: '批量领取', bulkTransfer: '批量转交', bulkInvalid: '批量标为无效', bulkDone: '完成 {ok} 条，失败 {failed} 条',
    masked: '联系方式已隐藏', pool: '所在池',
  },
  lead: {
    actions: '操作', logCall: '记录电话', followUp: '跟进', qualifyMql: '认定 MQL', qualifySql: '认定 SQL', nurture: '转入培育',
    convert: '转化', invalid: '标为无效', transfer: '转交', claim: '领取', restore: '恢复', confirmInvalid: '确认无效', returnToPool: '退回线索池',
    kind: '方式', kinds: { call: '电话', visit: '拜访', message: '消息' }, note: '备注', bant: 'BANT',
    budget: '预算', authority: '决策权', need: '需求', timeline: '时间表',
    reason: '原因', amount: '金额', expectedClose: '预计成交日', to: '转交给',
    score: '评分', fit: '匹配度', engagement: '活跃度', predicted: '预测成交概率', reasons: '依据',
    clocks: 'SLA 时钟', timelineTitle: '时间线', contact: '联系方式', profile: '资料', done: '已完成',
    clock: { first_contact: '首次联系', mql_decision: 'MQL 判定', sql_decision: 'SQL 判定', sql_outcome: 'SQL 结果', untouched: '长期未跟进', claim: '池中认领', nurture_recheck: '培育复查' },
    clockStatus: { running: '进行中', satisfied: '已达成', breached: '已超时' },
    nurtureReasons: { not_now: '暂不需要', no_budget: '无预算', no_authority: '无决策权', no_need: '无需求', unresponsive: '联系不上', other: '其他' },
    invalidReasons: { wrong_contact: '联系方式错误', no_intent: '无意向', unreachable: '无法联系', competitor: '竞争对手', other: '其他' },
    entry: {
      touch: '接触', follow_up: '跟进', owner: '负责人变更', repeat: '重复提交', sla: 'SLA',
      reminded: '提醒', breached: '超时', met: '达成',
    },
  },
  pools: {
    title: '线索池', allowance: '今日还可领取 {left} / {cap}', noCap: '今日领取不限', claim: '领取',
    claimed: '已领取，去跟进吧', lostRace: '手慢了：这条线索刚被别人领走', waiting: '等待自', noPools: '你不在任何线索池中',
  },
  team: {
    title: '团队看板', rep: '销售', holding: '持有 / 上限', today: '今日分配 / 上限', status: '状态', overdue: '超时',
    onShift: '在岗', offShift: '不在班', ooo: '休假中', inactive: '停用', markOoo: '标记休假', endOoo: '结束休假',
    oooUntil: '休假至', tier: '级别', tiers: { top: '金牌', regular: '普通', new: '新人' }, weight: '权重', edit: '编辑',
  },
  routing: {
    title: '分配规则', rules: '规则（自上而下匹配）', pool: '线索池', match: '条件', defaultPool: '默认池', moveUp: '上移', moveDown: '下移',
    preview: '分配预演', previewLead: '线索 ID', previewProvince: '省份', run: '预演', chosen: '将分配给', skipped: '跳过原因',
    noRep: '无人可分配', saveRules: '保存规则', dragHint: '拖动或用箭头调整顺序', version: '版本 {v}',
  },
  review: { title: '无效线索审核', reason: '原因', restore: '恢复', confirm: '确认无效', restored: '已恢复', confirmed: '已确认' },
  history: {
    title: '配置历史', kind: '配置', version: '版本', savedAt: '保存时间', savedBy: '保存人', changed: '变更字段',
    rollback: '回滚到此版本', rolledBack: '已回滚，生成新版本 {v}', restoredFrom: '回滚自 v{v}', diff: '差异', current: '当前',
    kinds: { routing: '分配规则', sla: 'SLA 策略', rules: '评分规则', attribution: '归因', models: '预测模型' },
  },
  admin: { title: '管理', webhooks: '外发 Webhook', erasure: '删除个人数据', users: '用户与角色', usersHint: '用户和角色在身份提供方（Cognito 用户池）中管理。' },
}
