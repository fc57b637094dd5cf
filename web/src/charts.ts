// ECharts, loaded only when a chart is drawn and only with the parts used (bar charts,
// mark areas and lines, grid, tooltip, legend, canvas renderer).
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
