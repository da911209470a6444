/** CRC16/XMODEM lookup table, the checksum Redis Cluster hashes keys with. */
const TABLE = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let crc = i << 8
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  TABLE[i] = crc
}

/**
 * The Cluster slot (0..16383) of a hash tag's content (the text between `{` and `}`).
 * ASCII is hashed straight from the string; other text from its UTF-8 bytes.
 */
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

/**
 * The Redis Cluster slot of `key`, as `CLUSTER KEYSLOT` computes it: CRC16 of the hash
 * tag (the text between the first `{` and the next `}`, when non-empty), else of the
 * whole key. Lets a component group the commands of one tick by slot (MGET and
 * multi-key scripts may not span slots).
 *
 * @example
 * keySlot('{cache:user42}:v') === keySlot('{cache:user42}:tags') // true
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return slotOfTag(key.slice(open + 1, close))
  }
  return slotOfTag(key)
}
