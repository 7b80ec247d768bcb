// Only what radseal uses of dcmjs: its data dictionary (host/dicom/dictionary.ts).
declare module 'dcmjs' {
  interface DictionaryEntry {
    tag: string;
    vr: string;
    vm: string;
    name: string;
  }
  const dcmjs: { data: { DicomMetaDictionary: { dictionary: Record<string, DictionaryEntry | undefined> } } };
  export default dcmjs;
}
