// When what a page shows changes under the person (a new phase of the day), the element that
// had focus often goes with the old content, and the browser drops focus to the top of the
// page. Moving it to the main region lets keyboard and screen-reader users carry on from what
// changed. Focus that is still on something (an observer typing a note) is left alone.
export function focusMainIfLost(): void {
  const active = document.activeElement;
  if (active && active !== document.body && active.isConnected) return;
  document.getElementById('main')?.focus({ preventScroll: true });
}
