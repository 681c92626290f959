// Draws each SIDC of a JSON list on stdin with milsymbol (its path is the first
// argument) and prints, in the same order, [isValid(), length of asSVG()] for each.
import { pathToFileURL } from "node:url";

const { default: ms } = await import(pathToFileURL(process.argv[2]).href);
let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const drawn = JSON.parse(input).map((sidc) => {
  const symbol = new ms.Symbol(sidc);
  return [symbol.isValid(), symbol.asSVG().length];
});
process.stdout.write(JSON.stringify(drawn));
