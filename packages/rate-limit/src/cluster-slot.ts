/**
 * Redis Cluster's hash slot (CRC16-XMODEM mod 16384) of a hash tag's content, so the
 * batcher can group operations by slot before building one script call per slot.
 * (`@headroom/core` has no slot helper yet; this one is small enough to keep here.)
 */
const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let crc = i << 8
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  TABLE[i] = crc
}

/** The slot of a key whose hash tag content is `tag` (the text between `{` and `}`). */
export function slotOfTag(tag: string): number {
  let crc = 0
  for (let i = 0; i < tag.length; i++) {
    const code = tag.charCodeAt(i)
    if (code >= 0x80) return slotOfBytes(Buffer.from(tag, 'utf8'))
    crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ code) & 0xff]!
  }
  return crc & 0x3fff
}

function slotOfBytes(bytes: Uint8Array): number {
  let crc = 0
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!
  return crc & 0x3fff
}

/** The slot of a full key, following Redis' hash-tag rule (first `{`, then the first `}` after it, non-empty). */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return slotOfTag(key.slice(open + 1, close))
  }
  return slotOfTag(key)
}
