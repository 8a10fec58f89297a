/**
 * The KVRaft Grafana dashboard, assembled with Grafana's Foundation SDK: three variables
 * (the Prometheus data source, the namespace, the cluster) and the rows of panels
 * (server-rows.ts, control-rows.ts). The SDK lays the panels out on the grid row by row.
 */
import { DashboardBuilder, DashboardCursorSync, DatasourceVariableBuilder, QueryVariableBuilder, RowBuilder, VariableRefresh, VariableSort, type Dashboard } from "@grafana/grafana-foundation-sdk/dashboard";
import { CONTROL_ROWS } from "./control-rows.js";
import { DATASOURCE } from "./panels.js";
import { SERVER_ROWS } from "./server-rows.js";

export const DASHBOARD_UID = "kvraft-overview";

/** A variable filled from Prometheus's label values, with "All" meaning any value. */
function queryVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name).label(label).query(query).datasource(DATASOURCE)
    .refresh(VariableRefresh.OnTimeRangeChanged).includeAll(true).allValue(".*").multi(false)
    .sort(VariableSort.AlphabeticalAsc);
}

/** The dashboard as Grafana's JSON model; panel ids count from 1 in reading order. */
export function kvraftDashboard(): Dashboard {
  const builder = new DashboardBuilder("KVRaft")
    .uid(DASHBOARD_UID)
    .description("KVRaft clusters: Raft, requests, storage, peer transport, coordinator, operator and process health.")
    .tags(["kvraft", "raft", "database"])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh("30s")
    .time({ from: "now-1h", to: "now" })
    .timezone("")
    .withVariable(new DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"))
    .withVariable(queryVariable("namespace", "Namespace", "label_values(kvraft_raft_term, namespace)"))
    // A KVRaftCluster NAME runs pods NAME-0, NAME-1, ...: the cluster is the pod name less its ordinal.
    .withVariable(queryVariable("cluster", "Cluster", 'label_values(kvraft_raft_term{namespace=~"$namespace"}, pod)').regex("/^(.*)-[0-9]+$/"));
  let id = 1;
  for (const row of [...SERVER_ROWS, ...CONTROL_ROWS]) {
    builder.withRow(new RowBuilder(row.title).id(id++));
    for (const panel of row.panels) builder.withPanel(panel.id(id++));
  }
  return builder.build();
}
