// The CASPO calibration webview: draws the reliability diagram and the metrics table from the data
// the extension posts (messages of src/calibrationHtml.ts). Text goes in through textContent and
// SVG through createElementNS only, so nothing posted is ever parsed as HTML.
// @ts-check
(function () {
  'use strict';
  // eslint-disable-next-line no-undef
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';
  const subtitle = /** @type {HTMLElement} */ (document.getElementById('subtitle'));
  const status = /** @type {HTMLElement} */ (document.getElementById('status'));
  const report = /** @type {HTMLElement} */ (document.getElementById('report'));
  const diagram = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (document.getElementById('diagram')));
  const table = /** @type {HTMLTableElement} */ (document.getElementById('metrics'));
  const recompute = /** @type {HTMLButtonElement} */ (document.getElementById('recompute'));

  recompute.addEventListener('click', () => vscode.postMessage({ type: 'recompute' }));

  const pct = (/** @type {number | null} */ x) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const num = (/** @type {number | null} */ x) => (x === null ? 'n/a' : x.toFixed(4));

  function svg(/** @type {string} */ name, /** @type {Record<string, string | number>} */ attributes, /** @type {SVGElement} */ parent) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
    parent.appendChild(element);
    return element;
  }

  function text(/** @type {string} */ content, /** @type {Record<string, string | number>} */ attributes, /** @type {SVGElement} */ parent) {
    svg('text', attributes, parent).textContent = content;
  }

  /** Confidence on x, accuracy on y: the diagonal, a bar per non-empty bin, its count in the tooltip. */
  function drawDiagram(result) {
    diagram.replaceChildren();
    const left = 50;
    const top = 12;
    const size = 280;
    const x = (/** @type {number} */ v) => left + v * size;
    const y = (/** @type {number} */ v) => top + (1 - v) * size;
    svg('rect', { class: 'plot', x: left, y: top, width: size, height: size }, diagram);
    for (const tick of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
      svg('line', { class: 'grid', x1: x(0), x2: x(1), y1: y(tick), y2: y(tick) }, diagram);
      text(tick.toFixed(1), { class: 'tick', x: left - 6, y: y(tick) + 4, 'text-anchor': 'end' }, diagram);
      text(tick.toFixed(1), { class: 'tick', x: x(tick), y: top + size + 16, 'text-anchor': 'middle' }, diagram);
    }
    for (const bin of result.bins) {
      if (!bin.count) continue;
      const bar = svg('rect', {
        class: 'bar',
        x: x(bin.lower) + 1,
        width: (bin.upper - bin.lower) * size - 2,
        y: y(bin.accuracy),
        height: Math.max(0.5, bin.accuracy * size),
        'data-count': bin.count,
      }, diagram);
      const title = document.createElementNS(SVG, 'title');
      title.textContent = `confidence ${bin.lower.toFixed(1)}–${bin.upper.toFixed(1)}: ${bin.count} step${bin.count === 1 ? '' : 's'}, mean confidence ${pct(bin.meanConfidence)}, correct ${pct(bin.accuracy)}`;
      bar.appendChild(title);
      svg('line', { class: 'mean', x1: x(bin.meanConfidence), x2: x(bin.meanConfidence), y1: y(0), y2: y(bin.accuracy) }, diagram);
    }
    svg('line', { class: 'diagonal', x1: x(0), y1: y(0), x2: x(1), y2: y(1) }, diagram);
    text('confidence', { class: 'axis', x: x(0.5), y: top + size + 34, 'text-anchor': 'middle' }, diagram);
    text('accuracy', { class: 'axis', x: 14, y: y(0.5), 'text-anchor': 'middle', transform: `rotate(-90 14 ${y(0.5)})` }, diagram);
  }

  /** "95 %: 0.0012–0.0051" (a bootstrap over the problems), or '' when there is none. */
  function interval(/** @type {any} */ result, /** @type {string} */ key, /** @type {(x: number) => string} */ show) {
    const range = result.intervals?.[key];
    if (!range) return '';
    return `${Math.round(100 * result.intervals.level)} %: ${show(range.low)}–${show(range.high)}`;
  }

  function metricRows(result) {
    const correctSteps = result.steps - result.wrongSteps;
    const ofDraws = (/** @type {string} */ what) =>
      `; the interval is where ${what} lands on ${result.intervals?.resamples ?? 'many'} redraws of ${result.problems} problems (with replacement): more problems narrow it`;
    return [
      ['Model', `${result.model} (${result.executionProvider})`, result.modelDir],
      ['Problems', `${result.problems} held-out`, 'The first N problems of training/data/heldout.jsonl (caspo.calibration.problems), greedy decoding'],
      ['Answer accuracy', pct(result.accuracy), `Problems answered right${ofDraws('the accuracy')}`, interval(result, 'accuracy', pct)],
      ['Steps', `${result.steps} (${result.wrongSteps} wrong)`, `${correctSteps} steps the verifier found correct`],
      [
        'Step AUROC',
        num(result.stepAUROC),
        result.stepAUROC === null ? 'Undefined: every step is in one class (all correct or all wrong)' : `How well confidence ranks correct steps above wrong ones${ofDraws('the AUROC')}`,
        interval(result, 'stepAUROC', num),
      ],
      ['ECE (10 bins)', num(result.ece), `Expected calibration error: the bins’ |accuracy − confidence|, weighted by their share of steps${ofDraws('the ECE')}`, interval(result, 'ece', num)],
      ['Brier score', num(result.brier), `Mean squared difference between confidence and the 0/1 outcome${ofDraws('the Brier score')}`, interval(result, 'brier', num)],
      ['Confidence metric', `${result.metric} (${result.calibrated ? 'Platt map fitted' : 'default mapping, no Platt map'})`, 'From caspo.confidenceMetric and the model’s caspo.json'],
      [
        'Platt fit',
        result.fit ? `${result.fit.wrongSteps} wrong of ${result.fit.steps} steps` : 'n/a',
        result.fit
          ? `What caspo calibrate fitted the map on: ${result.fit.problems} problems × ${result.fit.samples} sampled solutions; the fewer wrong steps, the rougher the map`
          : 'No Platt map for this metric, or the model’s caspo.json does not record its fit',
      ],
      ['Generated tokens', String(result.generatedTokens), ''],
      ['Wall time', `${(result.wallMs / 1000).toFixed(1)} s`, ''],
      ['Computed', `${new Date(result.computedAt).toLocaleString()}${result.cached ? ' (cached)' : ''}`, result.cached ? 'Recompute decodes the problems again' : ''],
    ];
  }

  function showResult(result) {
    report.classList.remove('stale');
    status.textContent = result.note ?? '';
    status.className = result.note ? 'note' : '';
    subtitle.textContent = `${result.model} · ${result.problems} held-out problems · ${new Date(result.computedAt).toLocaleDateString()}`;
    drawDiagram(result);
    const body = table.tBodies[0];
    body.replaceChildren();
    for (const [label, value, hint, range = ''] of metricRows(result)) {
      const row = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = label;
      row.appendChild(th);
      row.insertCell().textContent = value;
      const rangeCell = row.insertCell();
      rangeCell.className = 'interval';
      rangeCell.textContent = range;
      if (hint) row.title = hint;
    }
    report.hidden = false;
    recompute.disabled = false;
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (message.type === 'loading') {
      status.className = 'busy';
      status.textContent = `${message.recompute ? 'Recomputing' : 'Computing'} the calibration on ${message.problems} held-out problems… (cancel from the notification)`;
      recompute.disabled = true;
    } else if (message.type === 'result') {
      showResult(message.result);
    } else if (message.type === 'error') {
      status.className = message.cancelled ? 'note' : 'error';
      status.textContent = message.message;
      recompute.disabled = false;
      // A failure leaves nothing valid to show (a cancelled run leaves the last result, which still holds).
      if (!message.cancelled) {
        report.hidden = true;
        subtitle.textContent = '';
      }
    } else if (message.type === 'stale') {
      status.className = 'note';
      status.textContent = message.message;
      report.classList.add('stale');
    }
  });
  vscode.postMessage({ type: 'ready' });
})();
