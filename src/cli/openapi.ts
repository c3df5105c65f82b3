import type { Command } from 'commander';
import { openApiDocument } from '../server/openapi.js';

export function registerOpenapi(program: Command): void {
  program
    .command('openapi')
    .description('print the OpenAPI 3.1 document of `serve`, generated from the request shapes (docs/openapi.json is this)')
    .action(() => {
      process.stdout.write(JSON.stringify(openApiDocument(), null, 2) + '\n');
    });
}
