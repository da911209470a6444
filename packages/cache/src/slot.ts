/** CRC16/XMODEM lookup table, as Redis Cluster uses for key slots. */
const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let crc = i << 8
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1
  TABLE[i] = crc & 0xffff
}

const encoder = new TextEncoder()

/**
 * The Redis Cluster slot of `key` (0..16383): CRC16 of the hash tag (the text between
 * the first `{` and the next `}`, when non-empty), else of the whole key.
 */
export function keySlot(key: string): number {
  let start = key.indexOf('{')
  let end = key.length
  if (start !== -1) {
    const close = key.indexOf('}', start + 1)
    if (close > start + 1) end = close
    else start = -1
  }
  const bytes = encoder.encode(start === -1 ? key : key.slice(start + 1, end))
  let crc = 0
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!
  return crc & 0x3fff
}
