/**
 * The two kinds of panel the KVRaft dashboard uses, built with Grafana's Foundation SDK so
 * that Grafana's own types check every field: a time series and a single stat, each
 * reading Prometheus through the dashboard's data source variable.
 */
import { LegendDisplayMode, LegendPlacement, ReduceDataOptionsBuilder, SortOrder, TooltipDisplayMode, VizLegendOptionsBuilder, VizTooltipOptionsBuilder, BigValueColorMode, BigValueGraphMode } from "@grafana/grafana-foundation-sdk/common";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanelBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";

/** Every panel and query reads the Prometheus the "datasource" variable picks. */
export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

/** Three panels to a row on Grafana's 24-column grid. */
export const PANEL_WIDTH_COLUMNS = 8;
export const PANEL_HEIGHT_ROWS = 8;

/** One query of a panel: PromQL and its legend template. */
export interface Target {
  readonly expr: string;
  readonly legend: string;
}

export type Panel = TimeseriesPanelBuilder | StatPanelBuilder;

export const target = (expr: string, legend: string): Target => ({ expr, legend });

/** refIds A, B, C...: Grafana names a panel's queries by letter. */
function queries(targets: readonly Target[]): DataqueryBuilder[] {
  return targets.map((t, i) => new DataqueryBuilder()
    .refId(String.fromCharCode("A".charCodeAt(0) + i))
    .datasource(DATASOURCE)
    .expr(t.expr)
    .legendFormat(t.legend));
}

/** A time series panel; `unit` is a Grafana unit id ("s", "Bps", "reqps"...). */
export function timeseries(title: string, description: string, targets: readonly Target[], unit = "short"): TimeseriesPanelBuilder {
  return new TimeseriesPanelBuilder()
    .title(title).description(description).datasource(DATASOURCE).unit(unit)
    .span(PANEL_WIDTH_COLUMNS).height(PANEL_HEIGHT_ROWS)
    .legend(new VizLegendOptionsBuilder().displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).showLegend(true))
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending))
    .targets(queries(targets));
}

/** A single-value panel showing each series' last value. */
export function stat(title: string, description: string, targets: readonly Target[], unit = "short"): StatPanelBuilder {
  return new StatPanelBuilder()
    .title(title).description(description).datasource(DATASOURCE).unit(unit)
    .span(PANEL_WIDTH_COLUMNS).height(PANEL_HEIGHT_ROWS)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(["lastNotNull"]).fields("").values(false))
    .colorMode(BigValueColorMode.Value).graphMode(BigValueGraphMode.Area)
    .targets(queries(targets));
}
