// Converts the microphone's float samples to 16-bit PCM chunks of 1024 samples (64 ms at 16 kHz).
class Pcm16 extends AudioWorkletProcessor {
  constructor() { super(); this.buffer = new Int16Array(1024); this.used = 0; }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.buffer[this.used++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.used === this.buffer.length) {
        this.port.postMessage(this.buffer.buffer.slice(0));
        this.used = 0;
      }
    }
    return true;
  }
}
registerProcessor("pcm16", Pcm16);
