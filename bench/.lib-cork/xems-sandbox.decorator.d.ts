/**
 * Resolves the sessions of a handler or controller in `sandbox` instead of the module's
 * default sandbox. A token from another sandbox is refused there (401).
 */
export declare function XemsSandbox(sandbox: string): ClassDecorator & MethodDecorator;
