// The Server page: version, backend and effective configuration from /api/hearth/server, and
// live charts (one sample a second while the page is shown) from /metrics: tokens/s in and out,
// requests in flight and queued, TTFT and inter-token latency percentiles over the last 10 s,
// and slots busy per model.
import { getJson, api } from './api.js';
import { LineChart } from './chart.js';
import { buckets, diffBuckets, parseProm, quantile, scalar } from './prom.js';
import { $, el, ibytes } from './util.js';

let timer = null;
let charts = null;
let prev = null; // { t, metrics }
const history = []; // [{ t, ttft, itl }] bucket snapshots for the 10 s window

function makeCharts() {
  const mk = (id, opts) => new LineChart($(`#chart-${id}`), $(`#legend-${id}`), opts);
  return { tokens: mk('tokens'), requests: mk('requests', { digits: 0 }), ttft: mk('ttft', { digits: 0 }), itl: mk('itl'), slots: mk('slots', { digits: 0 }) };
}

export function showServer() {
  charts ||= makeCharts();
  if (!timer) { tick(); timer = setInterval(tick, 1000); }
}

export function hideServer() {
  clearInterval(timer);
  timer = null;
}

function kv(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { dataset: { key: k }, text: String(v) })]));
}

let infoShown = false;
function renderInfo(info) {
  const b = info.backend || {};
  const c = info.config || {};
  kv($('#server-info'), [
    ['Version', `${info.version} (hearth ${info.hearth_version})`],
    ['Backend', b.name?.toUpperCase() || ''],
    ['CPU features', (b.cpu_features || []).join(' ') || 'none detected'],
    ['Threads', b.threads],
    ['Listening on', c.bind],
    ['Loaded models', (info.loaded || []).map((m) => m.name).join(', ') || 'none'],
  ]);
  if (infoShown) return;
  infoShown = true;
  kv($('#server-config'), [
    ['Parallel slots per model', c.num_parallel],
    ['Context per slot', c.context_length],
    ['Keep-alive', c.keep_alive],
    ['Max loaded models', c.max_loaded_models],
    ['Max queue', c.max_queue],
    ['KV budget per model', c.kv_budget_bytes ? ibytes(c.kv_budget_bytes) : 'no cap'],
    ['Prompt cache (host RAM)', c.cache_ram_bytes ? ibytes(c.cache_ram_bytes) : 'off'],
    ['Body limit', ibytes(c.body_limit_bytes)],
    ['API key', c.api_key ? 'on' : 'off'],
    ['Registry (/v2/)', c.registry ? 'on' : 'off'],
    ['Extra origins', (c.extra_origins || []).join(', ') || 'none'],
  ]);
}

const ms = (v) => (v === null ? null : v * 1000);

async function tick() {
  let text;
  let info;
  try {
    [text, info] = await Promise.all([api('/metrics').then((r) => r.text()), getJson('/api/hearth/server')]);
  } catch { return; }
  const t = Date.now();
  const metrics = parseProm(text);
  renderInfo(info);
  const tokIn = scalar(metrics, 'hearth_prompt_tokens_total');
  const tokOut = scalar(metrics, 'hearth_generated_tokens_total');
  if (prev) {
    const dt = (t - prev.t) / 1000;
    charts.tokens.push(t, { out: Math.max(0, (tokOut - prev.tokOut) / dt), in: Math.max(0, (tokIn - prev.tokIn) / dt) });
  }
  // queue_depth counts requests queued or running; the slots of the loaded models run them.
  const depth = scalar(metrics, 'hearth_queue_depth');
  const loaded = info.loaded || [];
  const slots = (info.config?.num_parallel || 1) * Math.max(1, loaded.length);
  const running = Math.min(depth, slots);
  charts.requests.push(t, { 'in flight': running, queued: depth - running });
  const snap = { t, ttft: buckets(metrics, 'hearth_time_to_first_token_seconds'), itl: buckets(metrics, 'hearth_inter_token_latency_seconds') };
  history.push(snap);
  while (history.length && history[0].t < t - 10_500) history.shift();
  const old = history[0] === snap ? null : history[0];
  const win = (key) => diffBuckets(snap[key], old?.[key]);
  const ttft = old ? win('ttft') : [];
  const itl = old ? win('itl') : [];
  charts.ttft.push(t, { p50: ms(quantile(0.5, ttft)), p95: ms(quantile(0.95, ttft)), p99: ms(quantile(0.99, ttft)) });
  charts.itl.push(t, { p50: ms(quantile(0.5, itl)), p95: ms(quantile(0.95, itl)), p99: ms(quantile(0.99, itl)) });
  // Slots busy per model: the server's own count when it reports one, else the running
  // requests spread over the loaded models in order (exact with one model loaded).
  const busy = {};
  let left = running;
  for (const m of loaded) {
    const n = m.busy ?? Math.min(left, info.config?.num_parallel || 1);
    busy[m.name] = n;
    left -= n;
  }
  if (!loaded.length) busy['(none loaded)'] = 0;
  charts.slots.push(t, busy);
  prev = { t, tokIn, tokOut };
}
