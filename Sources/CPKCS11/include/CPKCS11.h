// The part of the PKCS#11 interface (Cryptoki, OASIS PKCS #11 Base
// Specification v2.40 / 3.0) that Mailseal uses, declared from the
// specification's text: types, the function list a module hands out, and
// the constants of the calls we make. No vendor header is copied or needed;
// the module itself is loaded at run time with dlopen.
//
// Layout: on Unix, Cryptoki structures use the platform's default
// alignment, CK_ULONG is `unsigned long`, and every function is called
// through the CK_FUNCTION_LIST, whose members keep the order the
// specification fixes (§5.15 of v2.40).
#ifndef MAILSEAL_CPKCS11_H
#define MAILSEAL_CPKCS11_H

typedef unsigned char CK_BYTE;
typedef CK_BYTE CK_CHAR;
typedef CK_BYTE CK_UTF8CHAR;
typedef CK_BYTE CK_BBOOL;
typedef unsigned long CK_ULONG;
typedef CK_ULONG CK_FLAGS;
typedef CK_ULONG CK_RV;
typedef CK_ULONG CK_SLOT_ID;
typedef CK_ULONG CK_SESSION_HANDLE;
typedef CK_ULONG CK_OBJECT_HANDLE;
typedef CK_ULONG CK_OBJECT_CLASS;
typedef CK_ULONG CK_KEY_TYPE;
typedef CK_ULONG CK_ATTRIBUTE_TYPE;
typedef CK_ULONG CK_MECHANISM_TYPE;
typedef CK_ULONG CK_USER_TYPE;
typedef CK_ULONG CK_STATE;
typedef void *CK_VOID_PTR;

typedef struct CK_VERSION {
  CK_BYTE major;
  CK_BYTE minor;
} CK_VERSION;

typedef struct CK_INFO {
  CK_VERSION cryptokiVersion;
  CK_UTF8CHAR manufacturerID[32];
  CK_FLAGS flags;
  CK_UTF8CHAR libraryDescription[32];
  CK_VERSION libraryVersion;
} CK_INFO;

typedef struct CK_SLOT_INFO {
  CK_UTF8CHAR slotDescription[64];
  CK_UTF8CHAR manufacturerID[32];
  CK_FLAGS flags;
  CK_VERSION hardwareVersion;
  CK_VERSION firmwareVersion;
} CK_SLOT_INFO;

typedef struct CK_TOKEN_INFO {
  CK_UTF8CHAR label[32];
  CK_UTF8CHAR manufacturerID[32];
  CK_UTF8CHAR model[16];
  CK_CHAR serialNumber[16];
  CK_FLAGS flags;
  CK_ULONG ulMaxSessionCount;
  CK_ULONG ulSessionCount;
  CK_ULONG ulMaxRwSessionCount;
  CK_ULONG ulRwSessionCount;
  CK_ULONG ulMaxPinLen;
  CK_ULONG ulMinPinLen;
  CK_ULONG ulTotalPublicMemory;
  CK_ULONG ulFreePublicMemory;
  CK_ULONG ulTotalPrivateMemory;
  CK_ULONG ulFreePrivateMemory;
  CK_VERSION hardwareVersion;
  CK_VERSION firmwareVersion;
  CK_CHAR utcTime[16];
} CK_TOKEN_INFO;

typedef struct CK_SESSION_INFO {
  CK_SLOT_ID slotID;
  CK_STATE state;
  CK_FLAGS flags;
  CK_ULONG ulDeviceError;
} CK_SESSION_INFO;

typedef struct CK_ATTRIBUTE {
  CK_ATTRIBUTE_TYPE type;
  CK_VOID_PTR pValue;
  CK_ULONG ulValueLen;
} CK_ATTRIBUTE;

typedef struct CK_MECHANISM {
  CK_MECHANISM_TYPE mechanism;
  CK_VOID_PTR pParameter;
  CK_ULONG ulParameterLen;
} CK_MECHANISM;

typedef CK_RV (*CK_CREATEMUTEX)(CK_VOID_PTR *ppMutex);
typedef CK_RV (*CK_DESTROYMUTEX)(CK_VOID_PTR pMutex);
typedef CK_RV (*CK_LOCKMUTEX)(CK_VOID_PTR pMutex);
typedef CK_RV (*CK_UNLOCKMUTEX)(CK_VOID_PTR pMutex);

typedef struct CK_C_INITIALIZE_ARGS {
  CK_CREATEMUTEX CreateMutex;
  CK_DESTROYMUTEX DestroyMutex;
  CK_LOCKMUTEX LockMutex;
  CK_UNLOCKMUTEX UnlockMutex;
  CK_FLAGS flags;
  CK_VOID_PTR pReserved;
} CK_C_INITIALIZE_ARGS;

struct CK_FUNCTION_LIST;
typedef CK_RV (*CK_C_GetFunctionList)(struct CK_FUNCTION_LIST **ppFunctionList);

// A slot of the function list that Mailseal never calls: only its place
// in the list matters.
typedef void (*CK_UNUSED_FUNCTION)(void);

typedef struct CK_FUNCTION_LIST {
  CK_VERSION version;
  CK_RV (*C_Initialize)(CK_VOID_PTR pInitArgs);
  CK_RV (*C_Finalize)(CK_VOID_PTR pReserved);
  CK_RV (*C_GetInfo)(CK_INFO *pInfo);
  CK_C_GetFunctionList C_GetFunctionList;
  CK_RV (*C_GetSlotList)(CK_BBOOL tokenPresent, CK_SLOT_ID *pSlotList, CK_ULONG *pulCount);
  CK_RV (*C_GetSlotInfo)(CK_SLOT_ID slotID, CK_SLOT_INFO *pInfo);
  CK_RV (*C_GetTokenInfo)(CK_SLOT_ID slotID, CK_TOKEN_INFO *pInfo);
  CK_UNUSED_FUNCTION C_GetMechanismList;
  CK_UNUSED_FUNCTION C_GetMechanismInfo;
  CK_UNUSED_FUNCTION C_InitToken;
  CK_UNUSED_FUNCTION C_InitPIN;
  CK_UNUSED_FUNCTION C_SetPIN;
  CK_RV (*C_OpenSession)(
      CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_VOID_PTR Notify,
      CK_SESSION_HANDLE *phSession);
  CK_RV (*C_CloseSession)(CK_SESSION_HANDLE hSession);
  CK_RV (*C_CloseAllSessions)(CK_SLOT_ID slotID);
  CK_RV (*C_GetSessionInfo)(CK_SESSION_HANDLE hSession, CK_SESSION_INFO *pInfo);
  CK_UNUSED_FUNCTION C_GetOperationState;
  CK_UNUSED_FUNCTION C_SetOperationState;
  CK_RV (*C_Login)(
      CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR *pPin, CK_ULONG ulPinLen);
  CK_RV (*C_Logout)(CK_SESSION_HANDLE hSession);
  CK_UNUSED_FUNCTION C_CreateObject;
  CK_UNUSED_FUNCTION C_CopyObject;
  CK_RV (*C_DestroyObject)(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject);
  CK_UNUSED_FUNCTION C_GetObjectSize;
  CK_RV (*C_GetAttributeValue)(
      CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE *pTemplate,
      CK_ULONG ulCount);
  CK_UNUSED_FUNCTION C_SetAttributeValue;
  CK_RV (*C_FindObjectsInit)(
      CK_SESSION_HANDLE hSession, CK_ATTRIBUTE *pTemplate, CK_ULONG ulCount);
  CK_RV (*C_FindObjects)(
      CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE *phObject, CK_ULONG ulMaxObjectCount,
      CK_ULONG *pulObjectCount);
  CK_RV (*C_FindObjectsFinal)(CK_SESSION_HANDLE hSession);
  CK_UNUSED_FUNCTION C_EncryptInit;
  CK_UNUSED_FUNCTION C_Encrypt;
  CK_UNUSED_FUNCTION C_EncryptUpdate;
  CK_UNUSED_FUNCTION C_EncryptFinal;
  CK_UNUSED_FUNCTION C_DecryptInit;
  CK_UNUSED_FUNCTION C_Decrypt;
  CK_UNUSED_FUNCTION C_DecryptUpdate;
  CK_UNUSED_FUNCTION C_DecryptFinal;
  CK_UNUSED_FUNCTION C_DigestInit;
  CK_UNUSED_FUNCTION C_Digest;
  CK_UNUSED_FUNCTION C_DigestUpdate;
  CK_UNUSED_FUNCTION C_DigestKey;
  CK_UNUSED_FUNCTION C_DigestFinal;
  CK_RV (*C_SignInit)(
      CK_SESSION_HANDLE hSession, CK_MECHANISM *pMechanism, CK_OBJECT_HANDLE hKey);
  CK_RV (*C_Sign)(
      CK_SESSION_HANDLE hSession, CK_BYTE *pData, CK_ULONG ulDataLen, CK_BYTE *pSignature,
      CK_ULONG *pulSignatureLen);
  CK_UNUSED_FUNCTION C_SignUpdate;
  CK_UNUSED_FUNCTION C_SignFinal;
  CK_UNUSED_FUNCTION C_SignRecoverInit;
  CK_UNUSED_FUNCTION C_SignRecover;
  CK_UNUSED_FUNCTION C_VerifyInit;
  CK_UNUSED_FUNCTION C_Verify;
  CK_UNUSED_FUNCTION C_VerifyUpdate;
  CK_UNUSED_FUNCTION C_VerifyFinal;
  CK_UNUSED_FUNCTION C_VerifyRecoverInit;
  CK_UNUSED_FUNCTION C_VerifyRecover;
  CK_UNUSED_FUNCTION C_DigestEncryptUpdate;
  CK_UNUSED_FUNCTION C_DecryptDigestUpdate;
  CK_UNUSED_FUNCTION C_SignEncryptUpdate;
  CK_UNUSED_FUNCTION C_DecryptVerifyUpdate;
  CK_UNUSED_FUNCTION C_GenerateKey;
  CK_RV (*C_GenerateKeyPair)(
      CK_SESSION_HANDLE hSession, CK_MECHANISM *pMechanism, CK_ATTRIBUTE *pPublicKeyTemplate,
      CK_ULONG ulPublicKeyAttributeCount, CK_ATTRIBUTE *pPrivateKeyTemplate,
      CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE *phPublicKey,
      CK_OBJECT_HANDLE *phPrivateKey);
  CK_UNUSED_FUNCTION C_WrapKey;
  CK_UNUSED_FUNCTION C_UnwrapKey;
  CK_UNUSED_FUNCTION C_DeriveKey;
  CK_UNUSED_FUNCTION C_SeedRandom;
  CK_UNUSED_FUNCTION C_GenerateRandom;
  CK_UNUSED_FUNCTION C_GetFunctionStatus;
  CK_UNUSED_FUNCTION C_CancelFunction;
  CK_UNUSED_FUNCTION C_WaitForSlotEvent;
} CK_FUNCTION_LIST;

// Return values (§11.1 of v2.40).
#define CKR_OK 0x00UL
#define CKR_HOST_MEMORY 0x02UL
#define CKR_SLOT_ID_INVALID 0x03UL
#define CKR_GENERAL_ERROR 0x05UL
#define CKR_FUNCTION_FAILED 0x06UL
#define CKR_ARGUMENTS_BAD 0x07UL
#define CKR_ATTRIBUTE_SENSITIVE 0x11UL
#define CKR_ATTRIBUTE_TYPE_INVALID 0x12UL
#define CKR_ATTRIBUTE_VALUE_INVALID 0x13UL
#define CKR_DATA_LEN_RANGE 0x21UL
#define CKR_DEVICE_ERROR 0x30UL
#define CKR_DEVICE_MEMORY 0x31UL
#define CKR_DEVICE_REMOVED 0x32UL
#define CKR_FUNCTION_CANCELED 0x50UL
#define CKR_KEY_HANDLE_INVALID 0x60UL
#define CKR_KEY_TYPE_INCONSISTENT 0x63UL
#define CKR_KEY_FUNCTION_NOT_PERMITTED 0x68UL
#define CKR_MECHANISM_INVALID 0x70UL
#define CKR_MECHANISM_PARAM_INVALID 0x71UL
#define CKR_OBJECT_HANDLE_INVALID 0x82UL
#define CKR_OPERATION_ACTIVE 0x90UL
#define CKR_OPERATION_NOT_INITIALIZED 0x91UL
#define CKR_PIN_INCORRECT 0xA0UL
#define CKR_PIN_INVALID 0xA1UL
#define CKR_PIN_LEN_RANGE 0xA2UL
#define CKR_PIN_EXPIRED 0xA3UL
#define CKR_PIN_LOCKED 0xA4UL
#define CKR_SESSION_CLOSED 0xB0UL
#define CKR_SESSION_COUNT 0xB1UL
#define CKR_SESSION_HANDLE_INVALID 0xB3UL
#define CKR_SESSION_READ_ONLY 0xB5UL
#define CKR_TEMPLATE_INCOMPLETE 0xD0UL
#define CKR_TEMPLATE_INCONSISTENT 0xD1UL
#define CKR_TOKEN_NOT_PRESENT 0xE0UL
#define CKR_TOKEN_NOT_RECOGNIZED 0xE1UL
#define CKR_TOKEN_WRITE_PROTECTED 0xE2UL
#define CKR_USER_ALREADY_LOGGED_IN 0x100UL
#define CKR_USER_NOT_LOGGED_IN 0x101UL
#define CKR_USER_PIN_NOT_INITIALIZED 0x102UL
#define CKR_USER_TYPE_INVALID 0x103UL
#define CKR_BUFFER_TOO_SMALL 0x150UL
#define CKR_CRYPTOKI_NOT_INITIALIZED 0x190UL
#define CKR_CRYPTOKI_ALREADY_INITIALIZED 0x191UL

// Flags.
#define CKF_TOKEN_PRESENT 0x01UL
#define CKF_RW_SESSION 0x02UL
#define CKF_SERIAL_SESSION 0x04UL
#define CKF_OS_LOCKING_OK 0x02UL
#define CKF_LOGIN_REQUIRED 0x04UL
#define CKF_USER_PIN_INITIALIZED 0x08UL
#define CKF_TOKEN_INITIALIZED 0x400UL

// Users.
#define CKU_SO 0UL
#define CKU_USER 1UL

// Object classes and key types.
#define CKO_PUBLIC_KEY 0x02UL
#define CKO_PRIVATE_KEY 0x03UL
#define CKK_RSA 0x00UL
#define CKK_EC 0x03UL

// Attributes.
#define CKA_CLASS 0x000UL
#define CKA_TOKEN 0x001UL
#define CKA_PRIVATE 0x002UL
#define CKA_LABEL 0x003UL
#define CKA_VALUE 0x011UL
#define CKA_KEY_TYPE 0x100UL
#define CKA_ID 0x102UL
#define CKA_SENSITIVE 0x103UL
#define CKA_ENCRYPT 0x104UL
#define CKA_DECRYPT 0x105UL
#define CKA_WRAP 0x106UL
#define CKA_UNWRAP 0x107UL
#define CKA_SIGN 0x108UL
#define CKA_VERIFY 0x10AUL
#define CKA_DERIVE 0x10CUL
#define CKA_MODULUS 0x120UL
#define CKA_MODULUS_BITS 0x121UL
#define CKA_PUBLIC_EXPONENT 0x122UL
#define CKA_PRIVATE_EXPONENT 0x123UL
#define CKA_EXTRACTABLE 0x162UL
#define CKA_NEVER_EXTRACTABLE 0x164UL
#define CKA_ALWAYS_SENSITIVE 0x165UL
#define CKA_EC_PARAMS 0x180UL
#define CKA_EC_POINT 0x181UL

// The value C_GetAttributeValue reports for an attribute it cannot give.
#define CK_UNAVAILABLE_INFORMATION (~0UL)

// Mechanisms.
#define CKM_RSA_PKCS_KEY_PAIR_GEN 0x0000UL
#define CKM_RSA_PKCS 0x0001UL
#define CKM_EC_KEY_PAIR_GEN 0x1040UL
#define CKM_ECDSA 0x1041UL

#endif
