# Independent second opinion for the DICOM fuzzer: reads each path given on
# stdin with pydicom and prints one line: a SHA-256 over every data element
# (tag, VR, raw value, text without its trailing padding; sequences item by item), or "ERR <reason>".
# Left out, as the MAC rules leave them out or as the fuzz oracle ignores
# them: the meta group 0002 (top level only), group lengths, (FFFA,FFFA), (FFFC,FFFC), Certified Timestamp.
import hashlib
import sys

import pydicom
from pydicom.dataelem import RawDataElement

SKIPPED = {0xFFFAFFFA, 0xFFFCFFFC, 0x04000310}
MAC_PARAMETERS_SEQUENCE = 0x4FFE0001
# Text values compare as DICOM compares them: trailing spaces and NULs are padding.
TEXT_VRS = {'AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT'}


def dump(ds, depth, out):
    for tag in sorted(ds.keys()):
        tag = int(tag)
        if (depth == 0 and tag >> 16 == 0x0002) or tag & 0xFFFF == 0 or tag in SKIPPED:
            continue
        raw = ds.get_item(tag)
        vr = raw.VR if raw is not None else None
        if vr == 'SQ':
            seq = ds[tag].value
            out.append(f'{depth} {tag:08x} SQ {len(seq)}')
            blocks = []
            for item in seq:
                block = [f'{depth} item']
                dump(item, depth + 1, block)
                blocks.append(block)
            if tag == MAC_PARAMETERS_SEQUENCE:
                blocks.sort()  # its items are found by MAC ID Number, not by position
            for block in blocks:
                out.extend(block)
            continue
        value = raw.value if isinstance(raw, RawDataElement) else ds[tag].value
        if isinstance(value, (bytes, bytearray)) and vr in TEXT_VRS:
            value = bytes(value).rstrip(b' \x00')
        if isinstance(value, (bytes, bytearray)):
            digest = hashlib.sha256(value).hexdigest()
        else:
            digest = 'repr:' + repr(value)
        out.append(f'{depth} {tag:08x} {vr} {digest}')


def main():
    for line in sys.stdin:
        path = line.rstrip('\n')
        try:
            ds = pydicom.dcmread(path, force=True)
            out = []
            dump(ds, 0, out)
            print(hashlib.sha256('\n'.join(out).encode()).hexdigest(), flush=True)
        except Exception as err:  # any failure to read is an answer too: "not equal"
            print('ERR ' + ' '.join(f'{type(err).__name__}: {err}'.split())[:300], flush=True)


main()
