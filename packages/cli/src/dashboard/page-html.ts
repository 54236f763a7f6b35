/**
 * The dashboard's one HTML page; data is filled in by browser/dashboard.ts (no framework, no bundler),
 * charts by chart.js, served from the installed package as `/assets/chart.js`.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>E11 Jobs</title>
    <link rel="stylesheet" href="/assets/dashboard.css" />
  </head>
  <body>
    <header>
      <h1>E11 Jobs</h1>
      <span id="notice" role="status"></span>
    </header>
    <main>
      <section aria-labelledby="metrics-title">
        <h2 id="metrics-title">Metrics, last 24 hours</h2>
        <table id="metrics">
          <thead>
            <tr>
              <th>Job</th><th>Dispatched</th><th>Completed</th><th>Failed</th><th>Retried</th>
              <th>Pending</th><th>Running</th><th>p50</th><th>p90</th><th>p99</th>
            </tr>
          </thead>
          <tbody></tbody>
        </table>
      </section>
      <section aria-labelledby="pipelines-title">
        <h2 id="pipelines-title">Pipelines</h2>
        <table id="pipelines">
          <thead>
            <tr><th>Pipeline</th><th>Name</th><th>Status</th><th>Current stage</th><th>Created</th></tr>
          </thead>
          <tbody></tbody>
        </table>
        <p id="no-pipelines" hidden>No pipelines.</p>
        <div id="pipeline-details" hidden>
          <h3>Stages of <code id="pipeline-id"></code></h3>
          <p id="pipeline-summary"></p>
          <ol id="stages"></ol>
        </div>
      </section>
      <section aria-labelledby="list-title">
        <h2 id="list-title">Orchestrations</h2>
        <form id="filters">
          <label>Job name <input name="jobName" autocomplete="off" /></label>
          <label>Status
            <select name="status">
              <option value="">any</option>
              <option>Pending</option><option>InProgress</option><option>Completed</option>
              <option>Errored</option><option>Cancelled</option>
            </select>
          </label>
          <button type="submit">Filter</button>
        </form>
        <table id="orchestrations">
          <thead>
            <tr><th>Orchestration</th><th>Job</th><th>Status</th><th>Progress</th><th>Failed</th><th>Created</th></tr>
          </thead>
          <tbody></tbody>
        </table>
        <button id="more" type="button" hidden>Load more</button>
      </section>
      <section id="details" aria-labelledby="details-title" hidden>
        <h2 id="details-title">Orchestration <code id="details-id"></code></h2>
        <p id="details-summary"></p>
        <dl class="facts">
          <div><dt>Cost</dt><dd id="cost">—</dd></div>
          <div><dt>Trace</dt><dd id="trace">—</dd></div>
          <div><dt>Logs</dt><dd id="orchestration-logs">—</dd></div>
        </dl>
        <h3>Jobs</h3>
        <ul id="grid-legend" class="legend"></ul>
        <div class="grid-box">
          <canvas id="job-grid" aria-label="one cell per job, coloured by status; click a cell to open its job"></canvas>
          <div id="grid-tooltip" class="tooltip" role="tooltip" hidden></div>
        </div>
        <div id="job-details" hidden>
          <h3 id="job-title"></h3>
          <p><span id="job-status"></span> · <span id="job-logs"></span></p>
          <div class="columns">
            <div>
              <h4>Params</h4>
              <pre id="job-params" class="params"></pre>
            </div>
            <div>
              <h4>Attempts</h4>
              <p id="job-no-attempts" hidden>No attempt yet.</p>
              <table id="job-attempts">
                <thead><tr><th>#</th><th>Started</th><th>Ended</th><th>Duration</th><th>Outcome</th></tr></thead>
                <tbody></tbody>
              </table>
            </div>
          </div>
          <div id="job-error" hidden>
            <h4>Error</h4>
            <p id="job-error-message" class="error"></p>
            <pre id="job-error-stack" class="params"></pre>
          </div>
        </div>
        <div class="columns charts">
          <figure>
            <figcaption>Jobs running and ended over time</figcaption>
            <div class="chart"><canvas id="timeline"></canvas></div>
          </figure>
          <figure>
            <figcaption>Durations of ended jobs</figcaption>
            <div class="chart"><canvas id="durations"></canvas></div>
          </figure>
        </div>
        <button id="retry" type="button" disabled>Retry failed jobs</button>
        <span id="retry-result" role="status"></span>
        <h3>Failed jobs</h3>
        <p id="no-failures" hidden>No failed jobs.</p>
        <table id="failures">
          <thead><tr><th>#</th><th>Job</th><th>Error</th><th>Params</th><th>Attempts</th></tr></thead>
          <tbody></tbody>
        </table>
      </section>
    </main>
    <script src="/assets/chart.js"></script>
    <script type="module" src="/assets/dashboard.js"></script>
  </body>
</html>
`;
