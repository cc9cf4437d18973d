// The fault-tolerant copies of core/uaccess.h for x86-64.
//
// size_t bpfemu_uaccess_copy(void* dst, const void* src, size_t n)
// returns the number of bytes it could not copy. Every instruction that touches
// memory is listed in the bpfemu_extable section as (instruction, fixup); the
// SIGSEGV/SIGBUS handler in uaccess.cc resumes a faulting one at its fixup.
// A fault in the 8-byte loop retries the same bytes one at a time, so the copy
// stops exactly at the first bad byte (as the kernel's copy_user does).

        .text
        .globl  bpfemu_uaccess_copy
        .hidden bpfemu_uaccess_copy
        .type   bpfemu_uaccess_copy, @function
        .p2align 4
bpfemu_uaccess_copy:
        .cfi_startproc
        mov     %rdx, %rcx
        cmp     $256, %rcx
        jae     .Lrep
.Lqwords:
        cmp     $8, %rcx
        jb      .Lbytes
1:      mov     (%rsi), %rax
2:      mov     %rax, (%rdi)
        add     $8, %rsi
        add     $8, %rdi
        sub     $8, %rcx
        jmp     .Lqwords
.Lbytes:
        test    %rcx, %rcx
        jz      .Ldone
3:      movzbl  (%rsi), %eax
4:      movb    %al, (%rdi)
        inc     %rsi
        inc     %rdi
        dec     %rcx
        jmp     .Lbytes
.Lrep:
5:      rep movsb
.Ldone:
        xor     %eax, %eax
        ret
.Lfault_bytes:
        mov     %rcx, %rax
        ret
        .cfi_endproc
        .size   bpfemu_uaccess_copy, .-bpfemu_uaccess_copy

// int bpfemu_uaccess_is_zero(const void* src, size_t n)
// 1 when all n bytes are zero, 0 when one is not, -1 on a fault.
        .globl  bpfemu_uaccess_is_zero
        .hidden bpfemu_uaccess_is_zero
        .type   bpfemu_uaccess_is_zero, @function
        .p2align 4
bpfemu_uaccess_is_zero:
        .cfi_startproc
        mov     %rsi, %rcx
.Lz_loop:
        test    %rcx, %rcx
        jz      .Lz_yes
6:      movzbl  (%rdi), %eax
        test    %eax, %eax
        jnz     .Lz_no
        inc     %rdi
        dec     %rcx
        jmp     .Lz_loop
.Lz_yes:
        mov     $1, %eax
        ret
.Lz_no:
        xor     %eax, %eax
        ret
.Lz_fault:
        mov     $-1, %eax
        ret
        .cfi_endproc
        .size   bpfemu_uaccess_is_zero, .-bpfemu_uaccess_is_zero

// long bpfemu_uaccess_strncpy(char* dst, const char* src, size_t size)
// copies up to and including the first NUL, at most size bytes: the string's
// length, size when no NUL came, or -1 on a fault.
        .globl  bpfemu_uaccess_strncpy
        .hidden bpfemu_uaccess_strncpy
        .type   bpfemu_uaccess_strncpy, @function
        .p2align 4
bpfemu_uaccess_strncpy:
        .cfi_startproc
        xor     %r8, %r8
.Ls_loop:
        cmp     %rdx, %r8
        jae     .Ls_full
7:      movzbl  (%rsi,%r8), %eax
        movb    %al, (%rdi,%r8)
        test    %eax, %eax
        jz      .Ls_end
        inc     %r8
        jmp     .Ls_loop
.Ls_end:
        mov     %r8, %rax
        ret
.Ls_full:
        mov     %rdx, %rax
        ret
.Ls_fault:
        mov     $-1, %rax
        ret
        .cfi_endproc
        .size   bpfemu_uaccess_strncpy, .-bpfemu_uaccess_strncpy

// Entries are offsets from themselves (as the kernel's are), so the table
// needs no relocation in a shared library.
        .section bpfemu_extable, "a"
        .p2align 2
        .long   1b - ., .Lbytes - .
        .long   2b - ., .Lbytes - .
        .long   3b - ., .Lfault_bytes - .
        .long   4b - ., .Lfault_bytes - .
        .long   5b - ., .Lfault_bytes - .
        .long   6b - ., .Lz_fault - .
        .long   7b - ., .Ls_fault - .

        .section .note.GNU-stack, "", @progbits
