// The speaker test's sound: a short, gentle two-note chime generated with WebAudio (no file
// to download), loud enough to hear at a normal volume.
export async function playChime(): Promise<void> {
  const context = new AudioContext();
  try {
    if (context.state === 'suspended') await context.resume();
    const start = context.currentTime + 0.05;
    const notes = [
      { frequency: 660, at: 0 },
      { frequency: 880, at: 0.45 },
    ];
    for (const note of notes) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = 'sine';
      oscillator.frequency.value = note.frequency;
      // A soft attack and decay: a click-free chime.
      gain.gain.setValueAtTime(0, start + note.at);
      gain.gain.linearRampToValueAtTime(0.4, start + note.at + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.001, start + note.at + 0.8);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(start + note.at);
      oscillator.stop(start + note.at + 0.85);
    }
    await new Promise<void>((resolve) => setTimeout(resolve, 1400));
  } finally {
    void context.close().catch(() => {});
  }
}
