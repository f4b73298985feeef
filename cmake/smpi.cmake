# dproc-smpi (option DPROC_SMPI): the real build's sources minus those needing HDF5 or libpng,
# compiled as SimGrid's smpicc compiles (SMPI's mpi.h, smpi_helpers.h included first, a shared
# object that smpirun loads once per simulated rank, so that each rank has its own globals).
find_program(DP_SMPIRUN smpirun REQUIRED)

set(DP_SMPI_TILE_OBJECTS)
foreach(isa ${DP_TILE_ISAS})
  add_library(dp_smpi_tile_${isa} OBJECT kernels/stats_tile.c kernels/stencil_row.c)
  get_target_property(opts dp_tile_${isa} COMPILE_OPTIONS)
  target_compile_definitions(dp_smpi_tile_${isa} PRIVATE DP_TILE_ISA=${isa})
  target_compile_options(dp_smpi_tile_${isa} PRIVATE ${opts})
  set_target_properties(dp_smpi_tile_${isa} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  list(APPEND DP_SMPI_TILE_OBJECTS $<TARGET_OBJECTS:dp_smpi_tile_${isa}>)
endforeach()

# No -fopenmp: OpenMP's pragmas are ignored and src/omp_serial.c answers its run-time calls.
add_library(dproc_smpi SHARED ${DP_KERNEL_SOURCES} ${DP_SMPI_TILE_OBJECTS} ${DP_CORE_SOURCES}
  src/hdf5_absent.c src/omp_serial.c src/sim_cost.c src/main.c)
set_target_properties(dproc_smpi PROPERTIES OUTPUT_NAME dproc-smpi PREFIX "" SUFFIX "")
target_include_directories(dproc_smpi PRIVATE include src kernels ${CMAKE_CURRENT_BINARY_DIR}/generated)
target_include_directories(dproc_smpi SYSTEM BEFORE PRIVATE ${SIMGRID_INCLUDEDIR}/smpi)
target_compile_definitions(dproc_smpi PRIVATE DP_SMPI)
target_compile_options(dproc_smpi PRIVATE ${DP_WARNINGS} -Wno-unknown-pragmas -fno-math-errno
  ${DP_BASE_ARCH} -include ${SIMGRID_INCLUDEDIR}/smpi/smpi_helpers.h)
target_link_libraries(dproc_smpi PRIVATE PkgConfig::SIMGRID PkgConfig::CJSON m)
target_link_options(dproc_smpi PRIVATE -Wl,-z,defs)
