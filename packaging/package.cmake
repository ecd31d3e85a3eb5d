# Debian packages with CPack (docs/packaging.md), included by the top-level
# CMakeLists.txt after the tools' directories:
#   probekit          the four programs, their man pages, bash completions,
#                     systemd units, copyright and changelog
#   probekit-testenv  linkemu and its man page (pk_add_tool ... COMPONENT testenv)
# `cpack -G DEB` in the build directory (or `cmake --build build --target
# package`) writes both .deb files. The test package_deb (label "package")
# builds them into a scratch directory and checks them.

set(PK_PKG_DIR ${CMAKE_CURRENT_LIST_DIR})
set(PK_DEB_RELEASE 1)
set(PK_DEB_VERSION ${PROJECT_VERSION}-${PK_DEB_RELEASE})
set(PK_DEB_MAINTAINER "probekit authors <probekit@example.org>" CACHE STRING
    "Maintainer field of the Debian packages (and of their changelog)")
# the date of the changelog entry below (packaging/changelog.Debian.in):
# fixed, so that the same tree gives the same package
set(PK_DEB_DATE "Mon, 30 Nov 2026 00:00:00 +0000")

# changelog.Debian.gz, compressed as Debian wants (gzip -9n: no name, no time)
set(PK_DEB_OUT ${CMAKE_BINARY_DIR}/packaging)
configure_file(${PK_PKG_DIR}/changelog.Debian.in ${PK_DEB_OUT}/changelog.Debian @ONLY)
execute_process(COMMAND gzip -9n -c ${PK_DEB_OUT}/changelog.Debian
                OUTPUT_FILE ${PK_DEB_OUT}/changelog.Debian.gz
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip of changelog.Debian failed: ${rc}")
endif()

# --- install rules beyond pk_add_tool's programs and man pages -------------
# Bash completions: one file, read from each program's --help at TAB time,
# installed under each program's name; prefix-independent, so in every install.
foreach(prog udp-ping heartbeat tcp-echo vxlan-agent)
  install(FILES ${PK_PKG_DIR}/completions/probekit
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
          RENAME ${prog} COMPONENT probekit)
endforeach()
# Units (ExecStart=/usr/bin/...), copyright and changelog are the Debian
# package's: EXCLUDE_FROM_ALL keeps them out of a plain `cmake --install`
# (prefix /usr/local by default) and in the component installs CPack makes.
install(FILES ${PK_PKG_DIR}/systemd/probekit-udp-ping.service
              ${PK_PKG_DIR}/systemd/probekit-heartbeat.service
              ${PK_PKG_DIR}/systemd/probekit-tcp-echo.service
              ${PK_PKG_DIR}/systemd/probekit-vxlan-agent@.service
        DESTINATION lib/systemd/system
        COMPONENT probekit EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_SOURCE_DIR}/docs/packaging.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/probekit
        COMPONENT probekit EXCLUDE_FROM_ALL)
install(FILES ${PK_PKG_DIR}/vxlan-agent.env
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/probekit/examples
        COMPONENT probekit EXCLUDE_FROM_ALL)
foreach(c probekit testenv)
  if(c STREQUAL "probekit")
    set(pkg probekit)
  else()
    set(pkg probekit-${c})
  endif()
  install(FILES ${PK_PKG_DIR}/copyright ${PK_DEB_OUT}/changelog.Debian.gz
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg}
          COMPONENT ${c} EXCLUDE_FROM_ALL)
endforeach()

# --- CPack -------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME probekit)
set(CPACK_PACKAGE_VENDOR "the probekit authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${PK_DEB_MAINTAINER})
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_STRIP_FILES ON)   # DEB installs under /usr (its default CPACK_PACKAGING_INSTALL_PREFIX)
set(dirperm OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
            WORLD_READ WORLD_EXECUTE)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS ${dirperm})
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS ${dirperm})

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL probekit testenv)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${PK_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${PK_DEB_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_PROBEKIT_PACKAGE_NAME probekit)
set(CPACK_DEBIAN_PROBEKIT_DESCRIPTION
"network measurement programs: UDP ping, heartbeat, TCP echo, multicast agent
probekit is a set of small network measurement programs on one shared C
library, each with a server and a client role:
 - udp-ping: a UDP pinger with percentiles, jitter and loss intervals;
 - heartbeat: UDP heartbeats with k-miss and phi accrual failure detection;
 - tcp-echo: a TCP echo with measurement phases, RTT and throughput sweeps;
 - vxlan-agent: multicast latency and loss between agents, with one-way
   figures and Prometheus metrics.
They time with kernel timestamps, report ping-style summaries, JSON and CSV,
and keep their memory bounded. The package ships hardened systemd units for
the three servers and the agent (not enabled) and bash completions.")

set(CPACK_DEBIAN_TESTENV_PACKAGE_NAME probekit-testenv)
set(CPACK_DEBIAN_TESTENV_PACKAGE_SUGGESTS probekit)
set(CPACK_DEBIAN_TESTENV_DESCRIPTION
"userspace link emulator of the probekit test environment
linkemu bridges two interfaces through packet sockets and delays, drops
and rate-limits the frames in each direction, where the kernel has no
netem. probekit's test topologies use it between network namespaces; it
needs CAP_NET_RAW and is not a general-purpose tool.")

# `make package_source`: the tree without build directories and Git data
set(CPACK_SOURCE_GENERATOR TXZ)
set(CPACK_SOURCE_PACKAGE_FILE_NAME probekit-${PROJECT_VERSION})
set(CPACK_SOURCE_IGNORE_FILES "/build[^/]*/" "/\\.git/" "__pycache__")

include(CPack)

# --- the test ----------------------------------------------------------------
if(BUILD_TESTING)
  add_test(NAME package_deb
           COMMAND bash ${CMAKE_SOURCE_DIR}/test/package/test_package.sh
                   ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
  set_tests_properties(package_deb PROPERTIES LABELS package TIMEOUT 300
                       RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
endif()
