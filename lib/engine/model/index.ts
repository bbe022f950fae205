export * from './digest';
export * from './image-ref';
export * from './oci';
export * from './platform';
export * from './package';
export * from './finding';
