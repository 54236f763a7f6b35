/**
 * The dashboard's browser code (plain ES2020, no framework): the orchestration list from
 * `/api/orchestrations`, a live progress bar per unfinished orchestration over its SSE stream
 * (EventSource), failed jobs with their (redacted) params and errors, and a Retry button. Data is
 * only ever inserted with `textContent`, never as HTML.
 */
export const DASHBOARD_SCRIPT = String.raw`
const ACTIVE = ['Pending', 'InProgress'];
const rows = new Map();
let selected = null;
let nextCursor = null;
let filters = {};

const $ = (selector) => document.querySelector(selector);

function el(tag, props, children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children || []) node.append(child);
  return node;
}

function notice(message) {
  $('#notice').textContent = message || '';
}

async function api(path, init) {
  const response = await fetch(path, init);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message + ' (' + body.error.code + ')' : response.statusText);
  return body;
}

function terminal(counts) {
  return counts.completed + counts.errored + counts.cancelled;
}

function renderRow(row) {
  const info = row.info;
  const percent = Math.floor(info.progress * 100);
  row.tr.dataset.status = info.status;
  row.status.textContent = info.status;
  row.status.className = 'status status-' + info.status;
  row.bar.setAttribute('aria-valuenow', String(percent));
  row.fill.style.width = percent + '%';
  row.fill.classList.toggle('failed', info.counts.errored > 0);
  row.count.textContent = ' ' + terminal(info.counts) + '/' + info.total + ' (' + percent + '%)';
  row.failed.textContent = String(info.counts.errored);
  if (selected === info.id) renderSummary(info);
}

function upsert(info) {
  let row = rows.get(info.id);
  if (!row) {
    const status = el('td', { className: 'status' });
    const fill = el('div', { className: 'fill' });
    const bar = el('div', { className: 'bar' }, [fill]);
    bar.setAttribute('role', 'progressbar');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', '100');
    bar.setAttribute('aria-label', 'progress of ' + info.id);
    const count = el('span', { className: 'count' });
    const failed = el('td', { className: 'failed' });
    const tr = el('tr', {}, [
      el('td', {}, [el('code', { textContent: info.id })]),
      el('td', { textContent: info.jobName }),
      status,
      el('td', {}, [bar, count]),
      failed,
      el('td', { textContent: new Date(info.createdAt).toLocaleString() }),
    ]);
    tr.dataset.id = info.id;
    tr.addEventListener('click', () => void select(info.id).catch((error) => notice(error.message)));
    row = { tr, status, bar, fill, count, failed, info, source: null };
    rows.set(info.id, row);
    const body = $('#orchestrations tbody');
    const after = [...body.children].find((other) => rows.get(other.dataset.id).info.createdAt < info.createdAt);
    body.insertBefore(tr, after || null);
  }
  // While a stream follows the row it is the fresher source; list data only fills the others.
  if (!row.source) row.info = info;
  renderRow(row);
  if (ACTIVE.includes(row.info.status)) follow(row);
}

function follow(row) {
  if (row.source) return;
  const source = new EventSource('/api/orchestrations/' + encodeURIComponent(row.info.id) + '/events');
  row.source = source;
  const apply = (event) => {
    const data = JSON.parse(event.data);
    row.info = Object.assign({}, row.info, data);
    renderRow(row);
  };
  source.addEventListener('status', apply);
  source.addEventListener('progress', apply);
  source.addEventListener('job', (event) => {
    const job = JSON.parse(event.data);
    if (selected === row.info.id && (job.status === 'Errored' || job.previousStatus === 'Errored')) scheduleFailures();
  });
  source.addEventListener('completed', (event) => {
    apply(event);
    stop(row);
    if (selected === row.info.id) loadFailures(row.info.id).catch((error) => notice(error.message));
    void loadMetrics().catch(() => undefined);
  });
  source.addEventListener('stream-error', (event) => {
    notice(JSON.parse(event.data).message);
    stop(row);
  });
}

function stop(row) {
  if (row.source) row.source.close();
  row.source = null;
}

async function loadPage(cursor) {
  const params = new URLSearchParams({ limit: '25' });
  if (cursor) params.set('cursor', cursor);
  if (filters.jobName) params.set('jobName', filters.jobName);
  if (filters.status) params.set('status', filters.status);
  const page = await api('/api/orchestrations?' + params);
  for (const info of page.items) upsert(info);
  // The periodic refresh reloads the first page; it must not forget a later page's cursor.
  if (cursor || rows.size <= page.items.length) nextCursor = page.nextCursor;
  $('#more').hidden = !nextCursor;
}

async function loadMetrics() {
  const report = await api('/api/metrics');
  const body = $('#metrics tbody');
  body.replaceChildren(
    ...Object.values(report.jobs).map((m) => {
      const d = m.durationMs;
      const ms = (value) => (d ? value + ' ms' : '-');
      return el('tr', {}, [
        m.jobName, m.dispatched, m.completed, m.failed, m.retried, m.queueDepth, m.running,
        ms(d && d.p50), ms(d && d.p90), ms(d && d.p99),
      ].map((value) => el('td', { textContent: String(value) })));
    }),
  );
}

function renderSummary(info) {
  const c = info.counts;
  $('#details-summary').textContent =
    info.jobName + ' · ' + info.status + ' · run ' + info.epoch + ' · ' + c.completed + ' completed, ' + c.errored +
    ' errored, ' + c.cancelled + ' cancelled, ' + c.inProgress + ' running, ' + c.pending + ' pending';
  $('#retry').disabled = c.errored === 0;
}

let failuresTimer = null;
function scheduleFailures() {
  clearTimeout(failuresTimer);
  failuresTimer = setTimeout(() => loadFailures(selected).catch((error) => notice(error.message)), 300);
}

async function loadFailures(id) {
  const failures = await api('/api/orchestrations/' + encodeURIComponent(id) + '/failures');
  if (selected !== id) return;
  $('#no-failures').hidden = failures.length > 0;
  $('#failures tbody').replaceChildren(
    ...failures.map((job) => {
      const tr = el('tr', {}, [
        el('td', { textContent: String(job.index) }),
        el('td', {}, [el('code', { textContent: job.jobId })]),
        el('td', { className: 'error', textContent: job.error ? job.error.code + ': ' + job.error.message : '' }),
        el('td', { className: 'params', textContent: JSON.stringify(job.params, null, 1) }),
        el('td', { textContent: String(job.attempts) + (job.deadLettered ? ' (dead-lettered)' : '') }),
      ]);
      tr.dataset.jobId = job.jobId;
      return tr;
    }),
  );
}

async function select(id) {
  selected = id;
  for (const [other, row] of rows) row.tr.classList.toggle('selected', other === id);
  $('#details').hidden = false;
  $('#details-id').textContent = id;
  $('#retry-result').textContent = '';
  const row = rows.get(id);
  if (row) renderSummary(row.info);
  if (location.hash !== '#' + id) history.replaceState(null, '', '#' + id);
  await loadFailures(id);
}

async function retry() {
  const id = selected;
  if (!id) return;
  $('#retry').disabled = true;
  try {
    const result = await api('/api/orchestrations/' + encodeURIComponent(id) + '/retry', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-e11-dashboard': '1' },
      body: '{}',
    });
    $('#retry-result').textContent = 'Retrying ' + result.jobIds.length + ' job(s) in run ' + result.epoch + '.';
    const info = await api('/api/orchestrations/' + encodeURIComponent(id));
    upsert(info);
    await loadFailures(id);
  } catch (error) {
    $('#retry-result').textContent = error.message;
    $('#retry').disabled = false;
  }
}

$('#retry').addEventListener('click', () => void retry());
$('#more').addEventListener('click', () => void loadPage(nextCursor).catch((error) => notice(error.message)));
$('#filters').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  filters = { jobName: form.get('jobName').trim(), status: form.get('status') };
  for (const row of rows.values()) stop(row);
  rows.clear();
  $('#orchestrations tbody').replaceChildren();
  void loadPage(null).catch((error) => notice(error.message));
});

async function refresh() {
  try {
    await loadPage(null);
    notice('');
  } catch (error) {
    notice(error.message);
  }
}

void (async () => {
  await refresh();
  void loadMetrics().catch(() => undefined);
  const wanted = location.hash.slice(1);
  if (wanted) {
    if (!rows.has(wanted)) {
      try {
        upsert(await api('/api/orchestrations/' + encodeURIComponent(wanted)));
      } catch (error) {
        notice(error.message);
      }
    }
    if (rows.has(wanted)) await select(wanted);
  }
  document.body.dataset.ready = 'true';
  setInterval(() => void refresh(), 5000);
  setInterval(() => void loadMetrics().catch(() => undefined), 15000);
})();
`;
