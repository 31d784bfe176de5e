/** Text for one line of the editor (client and server alike). */

/** Every line break the editor knows (\r\n, \n, a lone \r) shown as ⏎, so the text keeps to one line. */
export function onOneLine(text: string): string {
  return text.replace(/\r\n|\r|\n/g, ' ⏎ ');
}

/** At most `max` UTF-16 units, ending in "…" where cut; never between the two halves of a character (an emoji). */
export function ellipsize(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - 1;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--; // the first half of a pair: keep neither
  return `${text.slice(0, cut)}…`;
}
