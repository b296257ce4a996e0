/**
 * `@safeguard/reporting/sim`: local authority simulators for tests and demos. They bind
 * 127.0.0.1 only and never forward anything.
 */
export { NcmecSimulator, SIM_NCMEC_CODES } from './ncmec-simulator';
export type { NcmecSimulatorOptions, SimNcmecCall, SimNcmecReport } from './ncmec-simulator';
export { EuCentreSimulator } from './eu-simulator';
export type { EuCentreSimulatorOptions, SimEuCall } from './eu-simulator';
export { FaultInjector } from './http-util';
export type { Fault, FaultRule } from './http-util';
export { FILE_DETAILS_SPEC, REPORT_SPEC, INCIDENT_TYPES, parseXmlDocument, validateElement } from './xml-schema';
export type { ElementSpec, XmlNode } from './xml-schema';
