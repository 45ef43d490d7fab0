/**
 * `// #include "lib/<name>.wgsl"` for WGSL, which has no module system. A directive line pulls in
 * another file (path relative to shaders/) right after itself; each file enters a resolved shader
 * once, however many files include it, so a helper can include what it needs without clashing
 * with the shader that includes it too. The resolved source keeps a line map: compile errors
 * report the line of the file that holds it, not of the concatenation.
 */

/** A file an include may name: its text and the path to show in messages. */
export interface WgslFile {
  text: string;
  path: string;
}

/** Where a line of the resolved source comes from (1-based line of `path`). */
export interface SourceLine {
  path: string;
  line: number;
}

export interface ResolvedWgsl {
  code: string;
  /** lines[i] is the origin of line i + 1 of `code`. */
  lines: SourceLine[];
}

const DIRECTIVE = /^\s*\/\/\s*#include\b(.*)$/;
const QUOTED = /^\s+"([^"]+)"\s*$/;

/**
 * Resolves the includes of file `entry` (a key of `lookup`, e.g. "softmax.wgsl"). The directive
 * line stays in the output (it is a comment), so every output line has an origin.
 */
export function resolveIncludes(entry: string, lookup: (key: string) => WgslFile | undefined): ResolvedWgsl {
  const root = lookup(entry);
  if (!root) throw new Error(`WGSL include: no shader file "${entry}"`);
  const code: string[] = [];
  const lines: SourceLine[] = [];
  const included = new Set<string>([entry]);
  const stack: string[] = [];
  const visit = (key: string, file: WgslFile): void => {
    stack.push(key);
    file.text.split('\n').forEach((text, i) => {
      code.push(text);
      lines.push({ path: file.path, line: i + 1 });
      const m = DIRECTIVE.exec(text);
      if (!m) return;
      const where = `${file.path}:${i + 1}`;
      const target = QUOTED.exec(m[1]!)?.[1];
      if (target === undefined) throw new Error(`${where}: malformed include ${JSON.stringify(text.trim())}; expected // #include "lib/<name>.wgsl"`);
      if (stack.includes(target)) throw new Error(`${where}: #include "${target}" makes a cycle: ${[...stack.slice(stack.indexOf(target)), target].join(' → ')}`);
      if (included.has(target)) return;
      const next = lookup(target);
      if (!next) throw new Error(`${where}: #include "${target}": no such WGSL file (paths are relative to shaders/; a new file must be listed in src/engine/shaders.ts)`);
      included.add(target);
      visit(target, next);
    });
    stack.pop();
  };
  visit(entry, root);
  return { code: code.join('\n'), lines };
}

/** The origin of 1-based line `line` of a resolved source (undefined past its end). */
function sourceLine(resolved: ResolvedWgsl, line: number): SourceLine | undefined {
  return resolved.lines[line - 1];
}

/**
 * Rewrites the line positions of a compiler message into the original file and line: Tint's
 * ":12:7 error: …" (after an optional file label) and wgsl_reflect's "… Line: 12".
 */
export function mapWgslMessage(message: string, resolved: ResolvedWgsl): string {
  const at = (line: string, col?: string): string | undefined => {
    const origin = sourceLine(resolved, Number(line));
    return origin && `${origin.path}:${origin.line}${col === undefined ? '' : `:${col}`}`;
  };
  return message
    .replace(/(^|\s)[^\s:]*:(\d+):(\d+)(?=:? )/gm, (all, lead: string, line: string, col: string) => {
      const where = at(line, col);
      return where ? `${lead}${where}` : all;
    })
    .replace(/\bLine: (\d+)/g, (all, line: string) => {
      const where = at(line);
      return where ? `at ${where}` : all;
    });
}
