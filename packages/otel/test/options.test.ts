import { describe, expect, it } from 'vitest'
import { instrumentHeadroom, instrumentHeadroomMetrics, instrumentHeadroomTraces } from '../src/index.js'

describe('instrumentation options', () => {
  it('refuse unknown keys, naming the call and the closest known key', () => {
    expect(() => instrumentHeadroom({ recordKey: true } as never)).toThrow(
      /Invalid instrumentHeadroom option "recordKey": unknown option; did you mean "recordKeys"\?/,
    )
    expect(() => instrumentHeadroomMetrics({ meterprovider: {} } as never)).toThrow(
      /Invalid instrumentHeadroomMetrics option "meterprovider": unknown option; did you mean "meterProvider"\?/,
    )
    expect(() => instrumentHeadroomTraces({ recordKeys: 'yes' } as never)).toThrow(
      'Invalid instrumentHeadroomTraces option "recordKeys": expected boolean (received "yes")',
    )
  })

  it('accept no options at all (the global providers)', () => {
    const stop = instrumentHeadroom()
    stop()
  })
})
