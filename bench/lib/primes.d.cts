export declare const PRIMES: ReadonlyArray<number>
export declare function isPrime(n: number): boolean
export declare function formatLine(n: number, prime: boolean): string
export declare const EXPECTED: ReadonlyArray<string>
