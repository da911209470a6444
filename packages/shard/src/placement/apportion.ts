/** Largest-remainder apportionment of `total` units by weight; ties go to the lower index. */
export function apportion(total: number, weights: readonly number[]): Int32Array {
  const sum = weights.reduce((a, b) => a + b, 0)
  const quotas = new Int32Array(weights.length)
  const remainders: number[] = []
  let given = 0
  for (let i = 0; i < weights.length; i++) {
    const exact = (total * weights[i]!) / sum
    quotas[i] = Math.floor(exact)
    given += quotas[i]!
    remainders.push(exact - quotas[i]!)
  }
  const order = remainders.map((_, i) => i).sort((a, b) => remainders[b]! - remainders[a]! || a - b)
  for (let i = 0; given < total; i++, given++) quotas[order[i % order.length]!]!++
  return quotas
}
