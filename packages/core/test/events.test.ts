import diagnosticsChannel from 'node:diagnostics_channel'
import { describe, expect, it, vi } from 'vitest'
import { channelName, createChannels } from '../src/channels/diagnostics.js'
import { createEmitter } from '../src/events.js'

type Events = { hit: { key: string }; miss: { key: string; ms: number } }

describe('createEmitter', () => {
  it('delivers typed payloads and unsubscribes', () => {
    const events = createEmitter<Events>()
    const seen: string[] = []
    const off = events.on('hit', ({ key }) => seen.push(key))
    expect(events.has('hit')).toBe(true)
    events.emit('hit', { key: 'a' })
    off()
    events.emit('hit', { key: 'b' })
    expect(seen).toEqual(['a'])
    expect(events.has('hit')).toBe(false)
  })

  it('keeps going when a listener throws and reports the error', () => {
    const onError = vi.fn()
    const events = createEmitter<Events>(onError)
    const second = vi.fn()
    events.on('miss', () => {
      throw new Error('listener bug')
    })
    events.on('miss', second)
    events.emit('miss', { key: 'k', ms: 1 })
    expect(second).toHaveBeenCalledOnce()
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'listener bug' }), 'miss')
  })

  it('lets a listener unsubscribe itself while the event is delivered', () => {
    const events = createEmitter<Events>()
    const calls: number[] = []
    const off = events.on('hit', () => {
      calls.push(1)
      off()
    })
    events.on('hit', () => calls.push(2))
    events.emit('hit', { key: 'a' })
    events.emit('hit', { key: 'a' })
    expect(calls).toEqual([1, 2, 2])
  })

  it('clear() drops every listener', () => {
    const events = createEmitter<Events>()
    const listener = vi.fn()
    events.on('hit', listener)
    events.clear()
    events.emit('hit', { key: 'a' })
    expect(listener).not.toHaveBeenCalled()
  })
})

describe('createChannels', () => {
  it('names channels headroom:<pkg>:<event> and publishes to subscribers', () => {
    const channels = createChannels<Events>('cache', ['hit', 'miss'])
    expect(channels.hit.name).toBe('headroom:cache:hit')
    expect(channelName('queue', 'completed')).toBe('headroom:queue:completed')
    expect(channels.hit.hasSubscribers).toBe(false)

    const received: unknown[] = []
    const subscriber = (message: unknown) => received.push(message)
    diagnosticsChannel.subscribe('headroom:cache:hit', subscriber)
    try {
      expect(channels.hit.hasSubscribers).toBe(true)
      channels.hit.publish({ key: 'k' })
      channels.miss.publish({ key: 'ignored', ms: 1 })
    } finally {
      diagnosticsChannel.unsubscribe('headroom:cache:hit', subscriber)
    }
    expect(received).toEqual([{ key: 'k' }])
  })
})
