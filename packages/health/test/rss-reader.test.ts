import { describe, expect, it } from 'vitest'
import { createRssReader } from '../src/process/rss-reader.js'

describe('rss reader', () => {
  it('agrees with process.memoryUsage.rss() and follows allocations', () => {
    const reader = createRssReader()
    try {
      const ours = reader.read()
      const node = process.memoryUsage.rss()
      expect(Math.abs(ours - node) / node).toBeLessThan(0.1)
      // Touch 64 MiB: both readings grow by about as much.
      const block = Buffer.alloc(64 * 1024 * 1024, 1)
      const grown = reader.read()
      expect(grown - ours).toBeGreaterThan(32 * 1024 * 1024)
      expect(Math.abs(grown - process.memoryUsage.rss()) / grown).toBeLessThan(0.1)
      expect(block[block.length - 1]).toBe(1)
    } finally {
      reader.close()
      reader.close()
    }
  })
})
