/**
 * Stand-alone runner of the `landmarks` subcommand (same options as `lrdif landmarks`):
 *   bun scripts/landmarks.ts test/fixtures/astronaut-face.png --overlay out/
 */
import { Engine } from '../src/engine/engine.ts';
import { landmarksCommand } from '../src/model/landmarks/command.ts';

await landmarksCommand(() => Engine.create()).parseAsync(process.argv.slice(2), { from: 'user' });
