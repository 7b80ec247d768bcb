"""Re-encodes a Part 10 file with pydicom, every sequence and item with undefined
length, values untouched: a genuine re-encoding that must still verify.
Usage: reencode_undefined_lengths.py IN OUT"""
import sys
import pydicom


def mark(ds):
    for elem in ds:
        if elem.VR == 'SQ':
            elem.is_undefined_length = True
            for item in elem.value:
                item.is_undefined_length_sequence_item = True
                mark(item)


ds = pydicom.dcmread(sys.argv[1])
mark(ds)
ds.save_as(sys.argv[2], write_like_original=True)
