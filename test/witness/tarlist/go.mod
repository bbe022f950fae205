module trustctl.test/witness/tarlist

go 1.19
