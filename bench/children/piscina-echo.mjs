// piscina task (baseline): returns its payload.
export default function echo(m) {
  return m
}
