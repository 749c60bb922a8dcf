// Arithmetic for the `sets` variables of a sizing config ("forms_monthly*12", "users*cases_per_user"):
// numbers, names of earlier variables, + - * / and parentheses. Nothing else is evaluated.

export function evaluate(expression: string, vars: Readonly<Record<string, number>>): number {
  const tokens = expression.match(/\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+|[A-Za-z_]\w*|[-+*/()]|\S/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const fail = (what: string): never => {
    throw new Error(`cannot evaluate ${JSON.stringify(expression)}: ${what}`);
  };
  const primary = (): number => {
    const t = tokens[pos++];
    if (t === undefined) return fail('it ends too soon');
    if (t === '(') {
      const v = sum();
      if (tokens[pos++] !== ')') fail('a ")" is missing');
      return v;
    }
    if (t === '-') return -primary();
    if (t === '+') return primary();
    if (/^[\d.]/.test(t)) return Number(t);
    if (/^[A-Za-z_]/.test(t)) {
      if (!(t in vars)) fail(`"${t}" is not defined before it`);
      return vars[t]!;
    }
    return fail(`unexpected "${t}"`);
  };
  const product = (): number => {
    let v = primary();
    while (peek() === '*' || peek() === '/') v = tokens[pos++] === '*' ? v * primary() : v / primary();
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === '+' || peek() === '-') v = tokens[pos++] === '+' ? v + product() : v - product();
    return v;
  };
  const value = sum();
  if (pos !== tokens.length) fail(`unexpected "${tokens[pos]}"`);
  if (!Number.isFinite(value)) fail('the result is not a finite number');
  return value;
}
