// The declarations are all in include/CPKCS11.h; this file makes the target a C target.
