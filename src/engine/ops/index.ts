/** Every engine op, by module. Each module holds one op family: shape checks, dispatch, backward. */
export * from './elementwise.ts';
export * from './reduce.ts';
export * from './axpy.ts';
