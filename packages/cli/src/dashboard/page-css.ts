/** The dashboard's stylesheet. */
export const DASHBOARD_CSS = `
:root { font-family: system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
body { margin: 0; }
header { display: flex; align-items: baseline; gap: 1rem; padding: 0.75rem 1.5rem; background: #24292f; color: #fff; }
header h1 { font-size: 1.2rem; margin: 0; }
#notice { font-size: 0.85rem; color: #ffb3b3; }
main { padding: 1rem 1.5rem; display: grid; gap: 1.5rem; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.75rem 1rem; }
h2 { font-size: 1rem; margin: 0 0 0.5rem; }
h3 { font-size: 0.95rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }
#orchestrations tbody tr, #pipelines tbody tr { cursor: pointer; }
#orchestrations tbody tr:hover, #orchestrations tbody tr.selected,
#pipelines tbody tr:hover, #pipelines tbody tr.selected { background: #ddf4ff; }
#stages { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; list-style: none; padding: 0; margin: 0; font-size: 0.85rem; }
#stages li { display: flex; align-items: center; gap: 0.5rem; }
#stages li + li::before { content: '→'; color: #57606a; }
.stage { display: flex; flex-direction: column; gap: 0.15rem; min-width: 9rem; padding: 0.4rem 0.6rem; border: 1px solid #d0d7de; border-radius: 6px; background: #fff; color: inherit; font: inherit; text-align: left; }
button.stage { cursor: pointer; }
button.stage:hover { background: #ddf4ff; }
code, .params { font-family: ui-monospace, monospace; font-size: 0.8rem; }
.params { white-space: pre-wrap; word-break: break-all; }
.bar { display: inline-block; width: 10rem; height: 0.7rem; background: #eaeef2; border-radius: 4px; overflow: hidden; vertical-align: middle; }
.fill { height: 100%; background: #2da44e; transition: width 0.3s; }
.fill.failed { background: #cf222e; }
.status-Errored, .status-Cancelled { color: #cf222e; font-weight: 600; }
.status-Completed { color: #1a7f37; font-weight: 600; }
.status-InProgress, .status-Pending { color: #9a6700; }
.status-Waiting, .status-Skipped { color: #57606a; }
form { display: flex; gap: 1rem; align-items: end; margin-bottom: 0.5rem; }
button { font: inherit; padding: 0.25rem 0.75rem; }
h4 { font-size: 0.85rem; margin: 0.5rem 0 0.25rem; color: #57606a; }
a { color: #0969da; }
.facts { display: flex; gap: 2rem; margin: 0.25rem 0 0.5rem; font-size: 0.85rem; }
.facts div { display: flex; gap: 0.5rem; }
.facts dt { color: #57606a; }
.facts dd { margin: 0; font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 1rem; list-style: none; padding: 0; margin: 0 0 0.5rem; font-size: 0.8rem; }
.legend li { display: flex; align-items: center; gap: 0.3rem; }
.swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; }
.grid-box { position: relative; }
#job-grid { display: block; cursor: pointer; }
.tooltip { position: absolute; pointer-events: none; background: #24292f; color: #fff; font-size: 0.75rem; padding: 0.15rem 0.4rem; border-radius: 4px; white-space: nowrap; }
#job-details { margin-top: 0.75rem; padding: 0.5rem 0.75rem; border: 1px solid #d0d7de; border-radius: 6px; background: #f6f8fa; }
#job-details h3 { margin: 0 0 0.25rem; }
#job-details p { margin: 0.25rem 0; font-size: 0.85rem; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.charts { margin: 1rem 0; }
figure { margin: 0; }
figcaption { font-size: 0.85rem; font-weight: 600; margin-bottom: 0.25rem; }
.chart { position: relative; height: 220px; }
.error { color: #cf222e; }
pre.params { margin: 0; max-height: 16rem; overflow: auto; background: #fff; border: 1px solid #eaeef2; padding: 0.4rem; }
`;
