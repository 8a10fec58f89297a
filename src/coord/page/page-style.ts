/** The status page's look: plain, readable in light and dark, the leader and a lost stream impossible to miss. */
export const STATUS_PAGE_CSS = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #c62828; --lead: #fff4c2; --lead-dark: #5a4a00; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 2rem; }
header { display: flex; align-items: center; gap: 1rem; border-bottom: 1px solid #8884; }
h1 { font-size: 1.3rem; }
#connection { padding: .2rem .6rem; border-radius: 1rem; font-weight: 600; color: #fff; background: #777; }
body[data-connection="live"] #connection { background: var(--ok); }
body[data-connection="disconnected"] #connection { background: var(--bad); }
body[data-connection="disconnected"] main { opacity: .45; }
h2 { font-size: 1.1rem; margin: 1.2rem 0 .4rem; }
h2 small { font-weight: normal; color: #888; }
.leader-line { margin: .2rem 0 .6rem; font-weight: 600; }
.leader-line.none { color: var(--bad); }
table { border-collapse: collapse; min-width: 60%; }
th, td { text-align: left; padding: .25rem .7rem; border-bottom: 1px solid #8883; font-variant-numeric: tabular-nums; }
th { font-weight: 600; }
tr.leader { background: var(--lead); }
@media (prefers-color-scheme: dark) { tr.leader { background: var(--lead-dark); } }
tr.unreachable td { color: var(--bad); }
.badge { font-size: .75rem; padding: 0 .4rem; margin-left: .4rem; border-radius: .6rem; background: #d4a017; color: #000; }
#history { list-style: none; padding-left: 0; }
.superseded { color: #888; font-style: italic; }
#history li.election { font-weight: 600; }
#history time { color: #888; margin-right: .6rem; font-variant-numeric: tabular-nums; }
.empty { color: #888; }
`;
