// The console's screens and who reaches them; everything but sign-in needs a session.
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { has, session, type Role } from './auth'

declare module 'vue-router' {
  interface RouteMeta {
    roles?: Role[]
    public?: boolean
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: () => home() },
  { path: '/signin', component: () => import('./views/SignIn.vue'), meta: { public: true } },
  { path: '/callback', component: () => import('./views/Callback.vue'), meta: { public: true } },
  { path: '/leads', name: 'leads', component: () => import('./views/MyLeads.vue'), meta: { roles: ['rep', 'manager', 'admin', 'marketing'] } },
  { path: '/leads/:id', name: 'lead', component: () => import('./views/LeadPage.vue'), props: true },
  { path: '/pools', component: () => import('./views/Pools.vue'), meta: { roles: ['rep', 'manager', 'admin'] } },
  { path: '/team', component: () => import('./views/Team.vue'), meta: { roles: ['manager', 'admin'] } },
  { path: '/routing', component: () => import('./views/Routing.vue'), meta: { roles: ['manager', 'admin'] } },
  { path: '/review', component: () => import('./views/Review.vue'), meta: { roles: ['manager', 'admin', 'marketing'] } },
  { path: '/marketing', component: () => import('./views/Marketing.vue'), meta: { roles: ['marketing', 'manager', 'admin', 'finance'] } },
  { path: '/imports', component: () => import('./views/Imports.vue'), meta: { roles: ['marketing', 'manager', 'admin'] } },
  { path: '/finance', component: () => import('./views/Finance.vue'), meta: { roles: ['finance', 'manager', 'admin'] } },
  { path: '/attribution', component: () => import('./views/Attribution.vue'), meta: { roles: ['marketing', 'manager', 'admin', 'finance'] } },
  { path: '/campaigns', component: () => import('./views/Campaigns.vue'), meta: { roles: ['marketing', 'manager', 'admin', 'finance'] } },
  { path: '/scoring', component: () => import('./views/Scoring.vue'), meta: { roles: ['admin', 'marketing', 'manager'] } },
  { path: '/models', component: () => import('./views/Models.vue'), meta: { roles: ['manager', 'admin', 'marketing', 'finance'] } },
  { path: '/history', component: () => import('./views/History.vue'), meta: { roles: ['manager', 'admin'] } },
  { path: '/deadlines', component: () => import('./views/Deadlines.vue'), meta: { roles: ['manager', 'admin'] } },
  { path: '/reports', component: () => import('./views/Reports.vue'), meta: { roles: ['manager', 'admin'] } },
  { path: '/admin', component: () => import('./views/Admin.vue'), meta: { roles: ['admin'] } },
  { path: '/:rest(.*)*', redirect: '/leads' },
]

/** Where someone lands: the sales floor's lead list, or marketing's and finance's dashboard. */
export function home(): string {
  return has('rep', 'manager', 'admin') ? '/leads' : '/marketing'
}

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  // Back from a lead: the list where it was.
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})

router.beforeEach((to) => {
  if (to.meta.public) return true
  if (!session.current) return { path: '/signin', query: { next: to.fullPath } }
  if (to.meta.roles && !has(...to.meta.roles)) return home()
  return true
})
