const SIGNS: [sign: string, month: number, day: number][] = [
  ['Capricorn', 1, 19],
  ['Aquarius', 2, 18],
  ['Pisces', 3, 20],
  ['Aries', 4, 19],
  ['Taurus', 5, 20],
  ['Gemini', 6, 20],
  ['Cancer', 7, 22],
  ['Leo', 8, 22],
  ['Virgo', 9, 22],
  ['Libra', 10, 22],
  ['Scorpio', 11, 21],
  ['Sagittarius', 12, 21],
]

/** The Sun sign of a `YYYY-MM-DD` date (a business's founding date). */
export function sunSign(date: string): string {
  const month = Number(date.slice(5, 7))
  const day = Number(date.slice(8, 10))
  for (const [sign, m, lastDay] of SIGNS) {
    if (month === m) return day <= lastDay ? sign : (SIGNS[m % 12]![0] ?? 'Capricorn')
  }
  return 'Capricorn'
}
