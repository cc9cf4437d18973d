# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P bin2c.cmake
# Embeds a binary file as `const unsigned char NAME[]` + `NAME_len`, so the
# benchmark binaries carry their BPF objects and need no path at run time.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* generated from ${IN} by bin2c.cmake */\n"
  "const unsigned char ${NAME}[] = {\n${bytes}\n};\n"
  "const unsigned long ${NAME}_len = ${len};\n")
