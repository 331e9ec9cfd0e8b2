// /calibration/<participantId>: observer calibration (observers, lead observers, coordinators).
// Only the path helper here, so the pages that link to it do not load the page's code.
export function calibrationPath(participantId: string): string {
  return `/calibration/${encodeURIComponent(participantId)}`;
}
