#!/usr/bin/env python3
"""Independent MAC byte stream (PS3.15 C.12.1.1.3 / PS3.3 C.12.1.1.3.1.1-2) with pydicom.

usage: mac_stream.py FILE SIGNATURE_INDEX OUT
Writes the MAC stream for the SIGNATURE_INDEX-th (0-based) item of the
Digital Signatures Sequence of FILE to OUT. Shares no code with host/dicom:
element encodings come from pydicom's own writer, the rules are re-stated here.
"""
import sys
from pydicom import dcmread
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.tag import Tag

ITEM = b"\xfe\xff\x00\xe0"
SEQ_DELIM = b"\xfe\xff\xdd\xe0"
OWN_EXCLUDED = {Tag(0x0400, 0x0115), Tag(0x0400, 0x0120), Tag(0x0400, 0x0305), Tag(0x0400, 0x0310)}


def holds_un(el):
    if el.VR == "UN":
        return True
    if el.VR == "SQ":
        return any(holds_un(child) for item in el.value for child in item)
    return False


def eligible(el):
    g, e = el.tag.group, el.tag.element
    if g < 0x0008 or e == 0x0000:
        return False
    if el.tag == Tag(0x0008, 0x0001) or g == 0xFFFA:
        return False
    if el.tag in (Tag(0x4FFE, 0x0001), Tag(0xFFFC, 0xFFFC)):
        return False
    return not holds_un(el)


def encode(el, out):
    if el.VR == "SQ":
        out += el.tag.group.to_bytes(2, "little") + el.tag.element.to_bytes(2, "little") + b"SQ\x00\x00"
        for item in el.value:
            out += ITEM
            for child in item:
                encode(child, out)
        out += SEQ_DELIM
        return
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = False
    write_data_element(fp, el)
    out += fp.getvalue()


def main():
    path, index, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ds = dcmread(path)
    sig = ds[0xFFFA, 0xFFFA].value[index]
    mac_id = sig[0x0400, 0x0005].value
    params = [p for p in ds[0x4FFE, 0x0001].value if p[0x0400, 0x0005].value == mac_id][0]
    signed = params[0x0400, 0x0020].value
    signed = {Tag(t) for t in (signed if isinstance(signed, list) or hasattr(signed, "__iter__") and not isinstance(signed, int) else [signed])}
    out = bytearray()
    for el in ds:  # data set order (ascending tags)
        if el.tag in signed and eligible(el):
            encode(el, out)
    for el in sorted(sig, key=lambda x: x.tag):
        if el.tag not in OWN_EXCLUDED:
            encode(el, out)
    with open(dest, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
