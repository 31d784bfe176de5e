// Runs in the workbench page, evaluated from its source text (so neither tsx nor tsc rewrites it):
// what the editor whose text contains `containing` shows, line by line, read from its DOM.
//
// Monaco draws each visible line as absolutely positioned rows that share a `top` offset: the
// line number in .margin-view-overlays, the text in .view-lines, squiggles in .view-overlays and
// glyph-margin decorations (a TextEditorDecorationType's gutterIconPath) as .cgmr elements in
// .glyph-margin-widgets, whose generated class sets the icon as background-image. So `top` maps
// each of them to a line.
(containing) => {
  const editors = [...document.querySelectorAll('.monaco-editor')];
  const editor = editors.find((e) => e.querySelector('.view-lines')?.textContent.replace(/\u00a0/g, ' ').includes(containing));
  if (!editor) return null;
  const topOf = (element) => Math.round(parseFloat(element.style.top));
  const lines = new Map();
  for (const row of editor.querySelectorAll('.margin-view-overlays > div')) {
    const number = row.querySelector('.line-numbers')?.textContent.trim();
    if (number) lines.set(topOf(row), { number: Number(number), text: '', box: null, icons: [], warning: false });
  }
  for (const row of editor.querySelectorAll('.view-lines > .view-line')) {
    const line = lines.get(topOf(row));
    if (!line) continue;
    line.text = row.textContent.replace(/\u00a0/g, ' ');
    const run = row.querySelector('span > span')?.getBoundingClientRect();
    line.box = run && run.width > 0 ? { x: run.x, y: run.y, width: run.width, height: run.height } : null;
  }
  for (const icon of editor.querySelectorAll('.glyph-margin-widgets > .cgmr')) {
    const line = lines.get(topOf(icon));
    const image = getComputedStyle(icon).backgroundImage;
    // The URL is a vscode-remote-resource URL whose path names the SVG (percent-encoded).
    const svg = /([\w-]+\.svg)/.exec(decodeURIComponent(image))?.[1] ?? null;
    if (line) line.icons.push({ svg, className: icon.className });
  }
  for (const squiggle of editor.querySelectorAll('.view-overlays > div > .squiggly-warning')) {
    const line = lines.get(topOf(squiggle.parentElement));
    if (line) line.warning = true;
  }
  const workbench = document.querySelector('.monaco-workbench');
  const dark = workbench.classList.contains('vs-dark') || workbench.classList.contains('hc-black');
  return { theme: dark ? 'dark' : 'light', lines: [...lines.values()].sort((a, b) => a.number - b.number) };
}
