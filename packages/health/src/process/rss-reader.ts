import { closeSync, openSync, readSync } from 'node:fs'

/** Reads the resident set size, bytes. */
export interface RssReader {
  read(): number
  close(): void
}

const PAGE_SIZES = [4096, 16384, 65536]

/**
 * `process.memoryUsage.rss()` opens, reads and closes `/proc/self/stat` on every call:
 * three syscalls, the largest part of a sample. On Linux this keeps `/proc/self/statm`
 * open and re-reads it with one positioned read (procfs regenerates the file on each
 * read at offset 0). The page size, which Node does not expose, is calibrated once
 * against `rss()`. Anywhere else, or if anything looks off, it falls back to `rss()`.
 */
export function createRssReader(): RssReader {
  const fallback: RssReader = { read: () => process.memoryUsage.rss(), close() {} }
  if (process.platform !== 'linux') return fallback
  let fd: number
  try {
    fd = openSync('/proc/self/statm', 'r')
  } catch {
    return fallback
  }
  const buffer = Buffer.alloc(128)
  const residentPages = (): number => {
    const length = readSync(fd, buffer, 0, buffer.length, 0)
    // statm: "size resident shared text lib data dt"; the second number is the RSS in pages.
    let i = 0
    while (i < length && buffer[i] !== 0x20) i++
    let pages = 0
    let digits = 0
    for (i++; i < length; i++) {
      const c = buffer[i]!
      if (c < 0x30 || c > 0x39) break
      pages = pages * 10 + (c - 0x30)
      digits++
    }
    return digits > 0 ? pages : Number.NaN
  }
  try {
    const pages = residentPages()
    const rss = process.memoryUsage.rss()
    const pageSize = PAGE_SIZES.find((size) => Math.abs(pages * size - rss) / rss < 0.05)
    if (pageSize === undefined) {
      closeSync(fd)
      return fallback
    }
    return {
      read() {
        try {
          const current = residentPages()
          if (Number.isFinite(current)) return current * pageSize
        } catch {
          // Fall through to the portable read.
        }
        return process.memoryUsage.rss()
      },
      close() {
        try {
          closeSync(fd)
        } catch {
          // Already closed.
        }
      },
    }
  } catch {
    closeSync(fd)
    return fallback
  }
}
