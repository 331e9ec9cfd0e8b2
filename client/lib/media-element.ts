// Showing a MediaStreamTrack in a <video> or <audio> element.

/**
 * Attaches `track` to `element` (null: nothing). A new MediaStream only when the track
 * changes: participant lists are rebuilt whenever anyone's media changes, and re-attaching
 * the same track would blank the picture and cut the sound for a moment.
 */
export function showTrack(element: HTMLMediaElement, track: MediaStreamTrack | null): void {
  const attached = (element.srcObject as MediaStream | null)?.getTracks()[0] ?? null;
  if (attached !== track) element.srcObject = track ? new MediaStream([track]) : null;
}

/** A silent picture: video elements stay muted (sound plays through separate <audio> elements,
 *  and a muted element may autoplay). */
export function showVideo(video: HTMLVideoElement, track: MediaStreamTrack | null): void {
  video.muted = true;
  showTrack(video, track);
  if (track) video.play().catch(() => {});
}
