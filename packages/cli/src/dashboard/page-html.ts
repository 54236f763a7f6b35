/** The dashboard's one HTML page; data is filled in by browser/dashboard.ts (no framework, no bundler). */
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
    <script type="module" src="/assets/dashboard.js"></script>
  </body>
</html>
`;
